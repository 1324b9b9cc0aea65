//! The `meta` column of a run (see `runs`): its events' ids, times, sizes and kinds as
//! varints, read back checked.

use bytes::Bytes;

use crate::StoredEvent;

/// One event of a run's `meta`: where its payload is in `body` and where its kind is in
/// `meta` (the last kind written, for an event of the same kind as the one before).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) time: i64,
    pub(crate) offset: usize,
    pub(crate) size: usize,
    pub(crate) kind: std::ops::Range<usize>,
}

/// The events `meta` lists, checked: ids rising from `first_id` to `last_id`, the first
/// with a kind, payloads filling a body of `body_len` bytes exactly.
pub(crate) fn entries(
    first_id: u64,
    last_id: u64,
    meta: &[u8],
    body_len: i64,
) -> Result<Vec<Entry>, &'static str> {
    let mut out: Vec<Entry> = Vec::new();
    let (mut at, mut offset, mut id, mut time) = (0usize, 0usize, first_id, 0i64);
    let mut kind = 0..0;
    while at < meta.len() {
        let step = varint(meta, &mut at)?;
        if out.is_empty() != (step == 0) {
            return Err("replay ids that do not rise from the run's first");
        }
        id = id.checked_add(step).ok_or("a replay id past u64")?;
        time = time.wrapping_add(unzigzag(varint(meta, &mut at)?));
        let size = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a size past usize")?;
        let kind_len = usize::try_from(varint(meta, &mut at)?).map_err(|_| "a kind past usize")?;
        if kind_len > 0 {
            let end = at.checked_add(kind_len - 1).filter(|&e| e <= meta.len());
            let end = end.ok_or("a kind cut short")?;
            kind = at..end;
            at = end;
        } else if out.is_empty() {
            return Err("a first event without a kind");
        }
        out.push(Entry {
            id,
            time,
            offset,
            size,
            kind: kind.clone(),
        });
        offset = offset.checked_add(size).ok_or("a size past usize")?;
    }
    if out.last().map(|e| e.id) != Some(last_id) {
        return Err("events that do not end at the run's last replay id");
    }
    if i64::try_from(offset) != Ok(body_len) {
        return Err("payload sizes that do not add up to the body's");
    }
    Ok(out)
}

pub(crate) fn kind_of(meta: &[u8], e: &Entry) -> Result<String, &'static str> {
    std::str::from_utf8(&meta[e.kind.clone()])
        .map(str::to_owned)
        .map_err(|_| "a kind not UTF-8")
}

/// The events of a run, in order, their payloads slices of `body`.
pub(crate) fn decode(
    first_id: u64,
    last_id: u64,
    class: u8,
    meta: &[u8],
    body: &Bytes,
) -> Result<Vec<StoredEvent>, &'static str> {
    entries(first_id, last_id, meta, body.len() as i64)?
        .iter()
        .map(|e| {
            Ok(StoredEvent {
                replay_id: e.id,
                kind: kind_of(meta, e)?,
                class,
                time_ms: e.time,
                payload: body.slice(e.offset..e.offset + e.size),
            })
        })
        .collect()
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("a varint cut short")?;
        *at += 1;
        if shift == 63 && b > 1 {
            break;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err("a varint past 64 bits")
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}
