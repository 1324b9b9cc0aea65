//! The process's own resident memory and CPU time, read from `/proc/self/stat`: for
//! `/metrics` and for what a node of a cluster says of itself.

/// The process's resident memory (bytes) and CPU time (seconds), from `/proc`.
pub(crate) fn usage() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let pages: f64 = fields.get(21)?.parse().ok()?;
    // Linux's usual clock tick and page size.
    Some((pages * 4096.0, ticks / 100.0))
}

/// The process's resident memory, in bytes.
pub(crate) fn resident_bytes() -> Option<i64> {
    usage().map(|(rss, _)| rss as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_reads_itself() {
        let (rss, cpu) = super::usage().expect("/proc/self/stat");
        assert!(rss > 1_000_000.0, "{rss}");
        assert!(cpu >= 0.0);
        assert!(super::resident_bytes().unwrap() > 1_000_000);
    }
}
