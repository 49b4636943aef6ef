//! The game's shared state in one process: leases and the matching queue in memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, RoomId, WorldType};

use super::{ClusterError, Leases, MatchQueue, Queued};
use crate::model::Actor;

/// Leases by key: (owner, until). An expired lease goes at the next call that sees it.
#[derive(Default)]
pub struct LocalLeases {
    held: Mutex<HashMap<String, (String, Instant)>>,
}

#[async_trait]
impl Leases for LocalLeases {
    async fn hold(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, ClusterError> {
        let now = Instant::now();
        let mut held = self.held.lock().expect("leases lock");
        held.retain(|_, (_, until)| *until > now);
        match held.get_mut(key) {
            Some((o, until)) if o == owner => *until = now + ttl,
            Some(_) => return Ok(false),
            None => {
                held.insert(key.to_owned(), (owner.to_owned(), now + ttl));
            }
        }
        Ok(true)
    }

    async fn release(&self, key: &str, owner: &str) -> Result<(), ClusterError> {
        let mut held = self.held.lock().expect("leases lock");
        if held.get(key).is_some_and(|(o, _)| o == owner) {
            held.remove(key);
        }
        Ok(())
    }

    fn held(&self) -> usize {
        let now = Instant::now();
        let mut held = self.held.lock().expect("leases lock");
        held.retain(|_, (_, until)| *until > now);
        held.len()
    }
}

/// Per world, oldest first: each entry with the moment it leaves the queue by itself.
#[derive(Default)]
struct Queues {
    waiting: HashMap<WorldType, VecDeque<(Actor, Instant)>>,
    matched: HashMap<MemberId, (RoomId, WorldType, Instant)>,
}

impl Queues {
    fn remove(&mut self, member: &MemberId) -> bool {
        let mut found = false;
        for q in self.waiting.values_mut() {
            let before = q.len();
            q.retain(|(a, _)| a.member_id != *member);
            found |= q.len() != before;
        }
        self.waiting.retain(|_, q| !q.is_empty());
        found
    }

    /// Drops queue entries and matches past their time.
    fn sweep(&mut self) {
        let now = Instant::now();
        for q in self.waiting.values_mut() {
            q.retain(|(_, until)| *until > now);
        }
        self.waiting.retain(|_, q| !q.is_empty());
        self.matched.retain(|_, (_, _, until)| *until > now);
    }
}

/// The matching queue in memory: per world, oldest first; an entry goes when its member leaves,
/// is matched, or has waited `max_wait` (seen at the next call); a match record after its time
/// to live.
#[derive(Default)]
pub struct LocalQueue {
    queues: Mutex<Queues>,
}

#[async_trait]
impl MatchQueue for LocalQueue {
    async fn enqueue(
        &self,
        world: WorldType,
        actor: &Actor,
        size: u32,
        max_wait: Duration,
    ) -> Result<Queued, ClusterError> {
        let mut q = self.queues.lock().expect("queue lock");
        q.sweep();
        q.remove(&actor.member_id);
        q.matched.remove(&actor.member_id);
        let line = q.waiting.entry(world).or_default();
        line.push_back((actor.clone(), Instant::now() + max_wait));
        let party = (line.len() >= size as usize).then(|| line.drain(..size as usize).map(|(a, _)| a).collect());
        let waiting = line.len() as u32;
        q.waiting.retain(|_, l| !l.is_empty());
        Ok(Queued { waiting, party })
    }

    async fn dequeue(&self, member: &MemberId) -> Result<bool, ClusterError> {
        Ok(self.queues.lock().expect("queue lock").remove(member))
    }

    async fn status(&self, member: &MemberId) -> Result<Option<(WorldType, u32)>, ClusterError> {
        let q = self.queues.lock().expect("queue lock");
        Ok(q.waiting
            .iter()
            .find(|(_, l)| l.iter().any(|(a, _)| a.member_id == *member))
            .map(|(w, l)| (*w, l.len() as u32)))
    }

    async fn set_matched(
        &self,
        member: &MemberId,
        room: &RoomId,
        world: WorldType,
        ttl: Duration,
    ) -> Result<(), ClusterError> {
        let mut q = self.queues.lock().expect("queue lock");
        q.sweep();
        q.matched.insert(member.clone(), (room.clone(), world, Instant::now() + ttl));
        Ok(())
    }

    async fn matched(&self, member: &MemberId) -> Result<Option<(RoomId, WorldType)>, ClusterError> {
        let mut q = self.queues.lock().expect("queue lock");
        q.sweep();
        Ok(q.matched.get(member).map(|(r, w, _)| (r.clone(), *w)))
    }

    fn held(&self) -> usize {
        let mut q = self.queues.lock().expect("queue lock");
        q.sweep();
        q.waiting.values().map(VecDeque::len).sum::<usize>() + q.matched.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str) -> Actor {
        Actor { member_id: MemberId(id.into()), nickname: id.to_uppercase() }
    }

    #[tokio::test]
    async fn a_lease_has_one_owner_until_it_expires_or_is_released() {
        let leases = LocalLeases::default();
        let ttl = Duration::from_millis(50);
        assert!(leases.hold("k", "a", ttl).await.unwrap());
        assert!(!leases.hold("k", "b", ttl).await.unwrap());
        assert!(leases.hold("k", "a", ttl).await.unwrap(), "the owner renews");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(leases.hold("k", "b", ttl).await.unwrap(), "an expired lease is free");
        leases.release("k", "a").await.unwrap();
        assert!(!leases.hold("k", "a", ttl).await.unwrap(), "only the owner releases");
        leases.release("k", "b").await.unwrap();
        assert_eq!(leases.held(), 0);
    }

    #[tokio::test]
    async fn a_party_forms_per_world_and_leaves_the_queue() {
        let q = LocalQueue::default();
        let wait = Duration::from_secs(60);
        assert_eq!(q.enqueue(WorldType::Sf, &actor("a"), 2, wait).await.unwrap().waiting, 1);
        assert_eq!(q.enqueue(WorldType::Fantasy, &actor("b"), 2, wait).await.unwrap().waiting, 1);
        assert_eq!(q.status(&MemberId("a".into())).await.unwrap(), Some((WorldType::Sf, 1)));
        // a changes world: one queue at a time.
        let queued = q.enqueue(WorldType::Fantasy, &actor("a"), 2, wait).await.unwrap();
        let party: Vec<_> = queued.party.unwrap().into_iter().map(|a| a.member_id.0).collect();
        assert_eq!(party, ["b", "a"], "oldest first");
        assert_eq!(q.status(&MemberId("a".into())).await.unwrap(), None);
        assert_eq!(q.held(), 0);
    }

    #[tokio::test]
    async fn leaving_and_waiting_too_long_take_a_player_out() {
        let q = LocalQueue::default();
        q.enqueue(WorldType::Modern, &actor("a"), 3, Duration::from_secs(60)).await.unwrap();
        assert!(q.dequeue(&MemberId("a".into())).await.unwrap());
        assert!(!q.dequeue(&MemberId("a".into())).await.unwrap());
        q.enqueue(WorldType::Modern, &actor("b"), 3, Duration::from_millis(20)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let queued = q.enqueue(WorldType::Modern, &actor("c"), 3, Duration::from_secs(60)).await.unwrap();
        assert_eq!(queued.waiting, 1, "b waited longer than max_wait");
        q.set_matched(&MemberId("c".into()), &RoomId("r".into()), WorldType::Modern, Duration::from_millis(10))
            .await
            .unwrap();
        assert!(q.matched(&MemberId("c".into())).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(q.matched(&MemberId("c".into())).await.unwrap().is_none(), "a match record expires");
    }
}
