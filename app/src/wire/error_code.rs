//! Stable machine-readable error codes shared by the server and the UI: the one table of codes,
//! their HTTP statuses and what they mean (docs/ARCHITECTURE.md prints it).

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $status:literal;)*) => {
        /// A stable error code with the HTTP status that goes with it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* #[serde(rename = $code)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it appears on the wire, e.g. `auth.expired`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status of an answer carrying this code.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// What the code means (its doc line).
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    /// No token in `Authorization: Bearer`, `?token=` (or the stream cookie).
    MissingToken = "auth.missing_token", 400;
    /// Bad signature, wrong algorithm, or a malformed token.
    InvalidToken = "auth.invalid_token", 401;
    /// The token's lifetime is over.
    TokenExpired = "auth.expired", 401;
    /// The token was revoked by logging out.
    LoggedOut = "auth.logged_out", 401;
    /// Wrong account name or password.
    BadCredentials = "auth.bad_credentials", 401;
    /// Too many failed logins: wait `retryAfterMs` (the account is locked after 5 in a row).
    LoginLocked = "auth.locked", 429;
    /// That account name is taken.
    NameTaken = "auth.name_taken", 409;
    /// No valid refresh token (missing, unknown, expired or revoked): log in again.
    RefreshInvalid = "auth.refresh_invalid", 401;
    /// A refresh token was used twice: every session of that login is revoked.
    RefreshReused = "auth.refresh_reused", 401;
    /// A required request parameter (such as `roomId`) is missing.
    MissingParam = "request.missing_param", 400;
    /// A request parameter or body field has a bad value.
    InvalidRequest = "request.invalid", 400;
    /// A frame or body is not valid JSON of a known shape.
    BadFrame = "chat.bad_frame", 400;
    /// A frame is larger than `max_frame_bytes` (128 KiB by default).
    FrameTooLarge = "chat.frame_too_large", 413;
    /// A message has no content.
    EmptyMessage = "chat.empty", 400;
    /// A message is longer than `max_content_chars` (2000 by default).
    MessageTooLong = "chat.too_long", 400;
    /// Too many messages too fast: wait `retryAfterMs`.
    RateLimited = "chat.rate_limited", 429;
    /// The message was refused by the profanity filter (BLOCK mode).
    ProfanityBlocked = "chat.profanity_blocked", 400;
    /// A warning, not an error: the message was delivered but contains profanity (WARN mode).
    ProfanityWarning = "chat.profanity_warning", 202;
    /// Too many JOIN/LEAVE, typing frames, invitations or new rooms too fast: wait `retryAfterMs`.
    TooFast = "limit.too_fast", 429;
    /// Too many open connections (of this member, or to this room): close one first.
    TooManyConnections = "limit.connections", 429;
    /// This member has created as many rooms as one may.
    TooManyRooms = "limit.rooms", 429;
    /// Only members who joined the room may talk in it: send JOIN first.
    NotJoined = "room.not_joined", 403;
    /// Whispers go to members in the room; that one is not.
    ReceiverNotFound = "chat.receiver_not_found", 404;
    /// No member goes by that name: neither a registered login name nor the nickname of
    /// someone in a room now.
    MemberNotFound = "member.not_found", 404;
    /// More than one member in the rooms now goes by that nickname: use a login name.
    MemberAmbiguous = "member.ambiguous", 409;
    /// The room does not exist.
    RoomNotFound = "room.not_found", 404;
    /// The room is private and the caller is not invited.
    RoomForbidden = "room.forbidden", 403;
    /// The room is at its capacity.
    RoomFull = "room.full", 409;
    /// That room is not a game.
    NotAGame = "game.not_found", 404;
    /// That cannot be done in the game's current status or phase (e.g. starting a running game).
    GameBadState = "game.bad_state", 409;
    /// You have sent your ACTION for this turn already; wait for the next one.
    AlreadyActed = "game.already_acted", 409;
    /// The game moved on while the request was on its way (another player or the clock was first): look again.
    GameConflict = "game.conflict", 409;
    /// You are not waiting in the matching queue.
    NotQueued = "match.not_queued", 404;
    /// No such API endpoint.
    NotFound = "request.not_found", 404;
    /// Something failed on the server; details are in its log.
    Internal = "internal", 500;
    /// A backend (store, bus) is not available right now.
    Unavailable = "unavailable", 503;
}
