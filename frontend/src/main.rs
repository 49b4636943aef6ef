//! Mounts the DungeonTalk UI (client-side rendered) into the page's body.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(dungeontalk_app::App);
}
