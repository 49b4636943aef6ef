//! `Utf8Bytes`: text that is known to be UTF-8, shared by reference count, so one serialized
//! frame goes to every reader, every transport and every store without a copy or a second check.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// A reference-counted UTF-8 buffer: cloning it copies nothing.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text that lives as long as the program, without an allocation.
    pub const fn from_static(s: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor takes a `str` or checks the bytes (`TryFrom<Bytes>`).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The same buffer as plain bytes (shared, not copied).
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    /// The bytes, once checked to be UTF-8.
    fn try_from(b: Bytes) -> Result<Utf8Bytes, Self::Error> {
        std::str::from_utf8(&b)?;
        Ok(Utf8Bytes(b))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Bytes {
        t.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_gets_in_and_clones_share_the_buffer() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff\xfe")).is_err());
        let t = Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(t, "héllo");
        let copy = t.clone();
        assert_eq!(copy.bytes().as_ptr(), t.bytes().as_ptr(), "a clone shares the bytes");
        assert_eq!(Utf8Bytes::from_static("x").len(), 1);
    }
}
