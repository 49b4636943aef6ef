//! The server's RFC 3339 timestamps (UTC, milliseconds, trailing zeros trimmed, as the `time`
//! crate writes them) to and from milliseconds since the Unix epoch, without a time library: the
//! UI decodes these too, and a WASM build should not carry one for this.

const MS_PER_DAY: u64 = 86_400_000;

/// Milliseconds since the epoch for a timestamp in exactly the form [`rfc3339`] writes (anything
/// else, e.g. another offset or precision, has no compact form).
pub fn ms_of(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u64> {
        let digits = b.get(from..to)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let ms = match &b[19..] {
        b"Z" => 0,
        [b'.', frac @ .., b'Z'] if (1..=3).contains(&frac.len()) => {
            num(20, 20 + frac.len())? * 10u64.pow(3 - frac.len() as u32)
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let total = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
    // The round trip rules out what parses but is not the canonical text (31 February, "…:00.500Z").
    (rfc3339(total).as_deref() == Some(text)).then_some(total)
}

/// The timestamp `ms` after the epoch as the server writes it; `None` past the year 9999.
pub fn rfc3339(ms: u64) -> Option<String> {
    let (days, rest) = (ms / MS_PER_DAY, ms % MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        return None;
    }
    let (secs, milli) = (rest / 1000, rest % 1000);
    let mut out = format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if milli != 0 {
        let frac = format!("{milli:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    Some(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm); `None` before 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 { year.checked_sub(1)? } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// The date `days` after 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(month <= 2), month, day)
}
