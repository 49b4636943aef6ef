//! What an event says about the seats of its room: the feed uses it to keep a reader who holds no
//! seat out of a full room without asking the shared state for every event.

use dungeontalk_app::wire::{MemberId, PresenceType, ServerFrame};

use super::EventBody;

/// Seat news carried by an event (JOIN, LEAVE, PRESENCE); most events carry none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seats {
    /// A member who took (`true`) or gave up (`false`) a seat with this event.
    pub change: Option<(MemberId, bool)>,
    /// The room's capacity when this event says every seat is taken (from PRESENCE frames), else 0.
    pub full_at: u32,
}

impl Seats {
    /// The news in a draft (a stored JOIN or LEAVE).
    pub fn of_body(body: &EventBody) -> Option<Box<Seats>> {
        let change = match body {
            EventBody::Join { member_id, .. } => (member_id.clone(), true),
            EventBody::Leave { member_id, .. } => (member_id.clone(), false),
            _ => return None,
        };
        Some(Box::new(Seats { change: Some(change), full_at: 0 }))
    }

    /// The news in a frame (a stored JOIN or LEAVE, or a PRESENCE change).
    pub fn of_frame(frame: &ServerFrame) -> Option<Box<Seats>> {
        let seats = match frame {
            ServerFrame::Join(e) => Seats { change: Some((e.member_id.clone(), true)), full_at: 0 },
            ServerFrame::Leave(e) => Seats { change: Some((e.member_id.clone(), false)), full_at: 0 },
            ServerFrame::Presence(p) => {
                let change = match (p.event_type, &p.member_id) {
                    (PresenceType::Join, Some(m)) => Some((m.clone(), true)),
                    (PresenceType::Leave | PresenceType::SessionExpired, Some(m)) => Some((m.clone(), false)),
                    _ => None,
                };
                let full = p.max_capacity > 0 && p.joined_count >= p.max_capacity;
                Seats { change, full_at: if full { p.max_capacity } else { 0 } }
            }
            _ => return None,
        };
        Some(Box::new(seats))
    }
}
