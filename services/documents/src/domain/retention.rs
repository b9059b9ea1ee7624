use std::collections::BTreeSet;

use crate::error::Error;

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// An organisation's retention: keep the last `keep_last` versions of every
/// document and/or the versions younger than `keep_days`. Neither: off (the
/// default), nothing is ever removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RetentionPolicy {
    pub keep_last: Option<u32>,
    pub keep_days: Option<u32>,
}

impl RetentionPolicy {
    pub(crate) fn parse(keep_last: Option<u32>, keep_days: Option<u32>) -> Result<Self, Error> {
        if keep_last.is_some_and(|k| !(1..=10_000).contains(&k)) {
            return Err(Error::invalid("keep_last", "must be from 1 to 10000"));
        }
        if keep_days.is_some_and(|d| !(1..=36_500).contains(&d)) {
            return Err(Error::invalid("keep_days", "must be from 1 to 36500"));
        }
        Ok(Self {
            keep_last,
            keep_days,
        })
    }

    pub(crate) fn is_off(self) -> bool {
        self.keep_last.is_none() && self.keep_days.is_none()
    }
}

/// What retention needs to know of one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VersionFacts {
    pub number: u32,
    pub created_at: i64,
    pub labelled: bool,
}

/// The versions of one document that `policy` removes at `now`. Always kept:
/// the current version, labelled versions, versions an open task is pinned
/// to, and whatever a rule of the policy keeps (either rule keeps a version).
pub(crate) fn select_removals(
    policy: RetentionPolicy,
    versions: &[VersionFacts],
    current: u32,
    pinned: &BTreeSet<u32>,
    now: i64,
) -> Vec<u32> {
    if policy.is_off() {
        return Vec::new();
    }
    let mut newest_first: Vec<u32> = versions.iter().map(|v| v.number).collect();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    let last: BTreeSet<u32> = match policy.keep_last {
        Some(k) => newest_first.into_iter().take(k as usize).collect(),
        None => BTreeSet::new(),
    };
    let young = |v: &VersionFacts| {
        policy
            .keep_days
            .is_some_and(|d| now - v.created_at < i64::from(d) * DAY_MILLIS)
    };
    let mut removed: Vec<u32> = versions
        .iter()
        .filter(|v| {
            !(v.number == current
                || v.labelled
                || pinned.contains(&v.number)
                || last.contains(&v.number)
                || young(v))
        })
        .map(|v| v.number)
        .collect();
    removed.sort_unstable();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(n: u32, now: i64) -> Vec<VersionFacts> {
        // Version i was made (n - i) days before `now`.
        (1..=n)
            .map(|i| VersionFacts {
                number: i,
                created_at: now - i64::from(n - i) * DAY_MILLIS - 1,
                labelled: false,
            })
            .collect()
    }

    #[test]
    fn off_by_default_and_bounds_are_checked() {
        let now = 100 * DAY_MILLIS;
        let policy = RetentionPolicy::default();
        assert!(policy.is_off());
        assert!(select_removals(policy, &versions(9, now), 9, &BTreeSet::new(), now).is_empty());
        assert!(RetentionPolicy::parse(Some(0), None).is_err());
        assert!(RetentionPolicy::parse(None, Some(36_501)).is_err());
        assert!(RetentionPolicy::parse(Some(3), Some(30)).is_ok());
    }

    #[test]
    fn keeps_the_last_k_and_the_young_and_what_must_stay() {
        let now = 100 * DAY_MILLIS;
        let mut all = versions(8, now);
        all[1].labelled = true; // v2 "signed"
        let pinned = BTreeSet::from([3]);
        let last_two = RetentionPolicy::parse(Some(2), None).unwrap();
        assert_eq!(
            select_removals(last_two, &all, 8, &pinned, now),
            [1, 4, 5, 6]
        );
        // Younger than 3 days: v6 (2 days), v7 (1 day), v8; v5 is 3 days old.
        let three_days = RetentionPolicy::parse(None, Some(3)).unwrap();
        assert_eq!(
            select_removals(three_days, &all, 8, &pinned, now),
            [1, 4, 5]
        );
        // Both rules: a version either keeps stays.
        let both = RetentionPolicy::parse(Some(1), Some(3)).unwrap();
        assert_eq!(select_removals(both, &all, 8, &pinned, now), [1, 4, 5]);
        // The current version stays even when it is old and not among the last.
        let restored = versions(3, now);
        assert_eq!(
            select_removals(last_two, &restored, 1, &BTreeSet::new(), now),
            Vec::<u32>::new()
        );
        let one = RetentionPolicy::parse(Some(1), None).unwrap();
        assert_eq!(
            select_removals(one, &restored, 1, &BTreeSet::new(), now),
            [2]
        );
    }
}
