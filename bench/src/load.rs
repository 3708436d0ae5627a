//! Workloads and statistics (pure, unit- and property-tested).
//!
//! A workload is Diablo's: a send rate that is piecewise constant over time, given as
//! steps `(from second, transactions per second)`; the last step runs until the
//! workload's end. [`Load::schedule`] turns it into send times.

use serde::{Deserialize, Serialize};

/// A piecewise-constant send rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Load {
	/// `(start second, rate in tx/s)`, sorted by start; the first starts at 0.
	pub steps: Vec<(f64, f64)>,
	/// Length of the workload in seconds.
	pub duration: f64,
}

impl Load {
	/// One constant rate for `duration` seconds.
	#[cfg(test)]
	pub fn constant(rate: f64, duration: f64) -> Self {
		Load {
			steps: vec![(0.0, rate)],
			duration,
		}
	}

	/// Parse `RATE@FROM,RATE@FROM,...;DURATION` or `RATE` with a separate duration,
	/// e.g. `100@0,200@10,400@20` (from 0 s 100 tx/s, from 10 s 200 tx/s, ...).
	pub fn parse(spec: &str, duration: f64) -> Result<Self, String> {
		let mut steps = Vec::new();
		for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
			let (rate, from) = match part.split_once('@') {
				Some((r, f)) => (r, f),
				None => (part, "0"),
			};
			let rate: f64 = rate
				.parse()
				.map_err(|_| format!("bad rate {rate:?} in {part:?}"))?;
			let from: f64 = from
				.parse()
				.map_err(|_| format!("bad start {from:?} in {part:?}"))?;
			steps.push((from, rate));
		}
		let load = Load { steps, duration };
		load.check()?;
		Ok(load)
	}

	/// Reject empty, unsorted, negative or non-finite workloads.
	pub fn check(&self) -> Result<(), String> {
		if self.steps.is_empty() {
			return Err("a workload needs at least one step".into());
		}
		if self.steps[0].0 != 0.0 {
			return Err("the first step must start at 0 s".into());
		}
		if !(self.duration.is_finite() && self.duration > 0.0) {
			return Err(format!("bad duration {}", self.duration));
		}
		for w in self.steps.windows(2) {
			if w[1].0 <= w[0].0 {
				return Err("steps must start at increasing times".into());
			}
		}
		for &(from, rate) in &self.steps {
			if !(from.is_finite() && rate.is_finite() && rate >= 0.0) {
				return Err(format!("bad step {rate}@{from}"));
			}
		}
		Ok(())
	}

	/// Send times (seconds from the start) of every transaction: within a step of rate
	/// `r` one every `1/r` s, starting at the step's start.
	pub fn schedule(&self) -> Vec<f64> {
		let mut out = Vec::new();
		for (i, &(from, rate)) in self.steps.iter().enumerate() {
			let until = self
				.steps
				.get(i + 1)
				.map_or(self.duration, |s| s.0)
				.min(self.duration);
			if rate <= 0.0 || from >= until {
				continue;
			}
			let n = ((until - from) * rate - 1e-9).ceil().max(0.0) as u64;
			out.extend((0..n).map(|k| from + k as f64 / rate));
		}
		out
	}
}

/// What happened to one transaction (times in seconds from the benchmark's start).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
	/// When it was sent.
	pub sent: f64,
	/// The node refused it (invalid, pool full, ...).
	pub rejected: Option<String>,
	/// First seen in a best block: `(time, block)`.
	pub included: Option<(f64, u64)>,
	/// Seen in a finalized block.
	pub finalized: Option<f64>,
	/// Dispatched with an error (`System.ExtrinsicFailed`): the error.
	pub failed: Option<String>,
}

impl Record {
	/// Finalized and dispatched successfully.
	pub fn committed(&self) -> bool {
		self.finalized.is_some() && self.failed.is_none() && self.rejected.is_none()
	}

	/// Nothing more will happen to it: refused, failed, or finalized.
	pub fn settled(&self) -> bool {
		self.rejected.is_some() || self.failed.is_some() || self.finalized.is_some()
	}
}

/// Diablo's figures for one kind of transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
	/// Transactions sent.
	pub submitted: usize,
	/// Finalized with success.
	pub committed: usize,
	/// Refused by the node, failed in dispatch, or not finalized in time.
	pub aborted: usize,
	/// Of the aborted: accepted by the node but never finalized (dropped by the
	/// transaction pool, or still pending when the drain time ran out).
	pub dropped: usize,
	/// `committed / submitted`, in percent.
	pub commit_pct: f64,
	/// Average send rate (tx/s) over the sending period.
	pub send_rate: f64,
	/// Committed transactions per second, from the first send to the last inclusion
	/// of a committed transaction.
	pub throughput: f64,
	/// Latency to inclusion in a best block, average and median (s).
	pub inclusion_avg: f64,
	/// Median latency to inclusion (s).
	pub inclusion_median: f64,
	/// Latency to finality, average (s).
	pub finality_avg: f64,
	/// Median latency to finality (s).
	pub finality_median: f64,
}

fn median(v: &mut [f64]) -> f64 {
	if v.is_empty() {
		return 0.0;
	}
	v.sort_by(f64::total_cmp);
	let m = v.len() / 2;
	if v.len() % 2 == 1 {
		v[m]
	} else {
		(v[m - 1] + v[m]) / 2.0
	}
}

fn avg(v: &[f64]) -> f64 {
	if v.is_empty() {
		0.0
	} else {
		v.iter().sum::<f64>() / v.len() as f64
	}
}

impl Stats {
	/// Figures of `records`.
	pub fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
		let records: Vec<&Record> = records.into_iter().collect();
		let submitted = records.len();
		let committed: Vec<&&Record> = records.iter().filter(|r| r.committed()).collect();
		let first_sent = records.iter().map(|r| r.sent).fold(f64::INFINITY, f64::min);
		let last_sent = records
			.iter()
			.map(|r| r.sent)
			.fold(f64::NEG_INFINITY, f64::max);
		let last_in = committed
			.iter()
			.filter_map(|r| r.included.map(|i| i.0).or(r.finalized))
			.fold(f64::NEG_INFINITY, f64::max);
		let mut inc: Vec<f64> = committed
			.iter()
			.filter_map(|r| r.included.map(|(t, _)| t - r.sent))
			.collect();
		let mut fin: Vec<f64> = committed
			.iter()
			.filter_map(|r| r.finalized.map(|t| t - r.sent))
			.collect();
		let span = last_in - first_sent;
		Stats {
			submitted,
			committed: committed.len(),
			aborted: submitted - committed.len(),
			dropped: records
				.iter()
				.filter(|r| r.rejected.is_none() && r.failed.is_none() && r.finalized.is_none())
				.count(),
			commit_pct: if submitted == 0 {
				0.0
			} else {
				100.0 * committed.len() as f64 / submitted as f64
			},
			send_rate: if submitted > 1 && last_sent > first_sent {
				(submitted - 1) as f64 / (last_sent - first_sent)
			} else {
				0.0
			},
			throughput: if committed.is_empty() || span <= 0.0 {
				0.0
			} else {
				committed.len() as f64 / span
			},
			inclusion_avg: avg(&inc),
			inclusion_median: median(&mut inc),
			finality_avg: avg(&fin),
			finality_median: median(&mut fin),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn parse_and_schedule() {
		let l = Load::parse("10@0, 20@1, 0@2", 3.0).unwrap();
		let s = l.schedule();
		assert_eq!(s.len(), 30);
		assert_eq!(s[0], 0.0);
		assert!((s[9] - 0.9).abs() < 1e-9);
		assert_eq!(s[10], 1.0);
		assert!((s[29] - 1.95).abs() < 1e-9);
		assert_eq!(Load::parse("5", 2.0).unwrap().schedule().len(), 10);
		assert!(Load::parse("5@1", 2.0).is_err(), "must start at 0");
		assert!(Load::parse("5@0,6@0", 2.0).is_err(), "increasing starts");
		assert!(Load::parse("x", 2.0).is_err());
		assert!(Load::parse("-1", 2.0).is_err());
		assert!(Load::parse("1", 0.0).is_err());
	}

	#[test]
	fn stats_of_records() {
		let r = |sent, inc: Option<f64>, fin: Option<f64>| Record {
			sent,
			included: inc.map(|t| (t, 1)),
			finalized: fin,
			..Default::default()
		};
		let mut failed = r(0.5, Some(1.0), Some(1.0));
		failed.failed = Some("Market.TooManyOpenTasks".into());
		let rejected = Record {
			sent: 0.7,
			rejected: Some("pool full".into()),
			..Default::default()
		};
		let recs = vec![
			r(0.0, Some(1.0), Some(2.0)),
			r(1.0, Some(2.0), Some(4.0)),
			r(2.0, Some(3.0), Some(4.0)),
			r(3.0, None, None),
			failed,
			rejected,
		];
		let s = Stats::of(&recs);
		assert_eq!(
			(s.submitted, s.committed, s.aborted, s.dropped),
			(6, 3, 3, 1)
		);
		assert!((s.commit_pct - 50.0).abs() < 1e-9);
		assert!(
			(s.throughput - 1.0).abs() < 1e-9,
			"3 committed from 0 s to 3 s"
		);
		assert!((s.inclusion_avg - 1.0).abs() < 1e-9);
		assert!((s.inclusion_median - 1.0).abs() < 1e-9);
		assert!((s.finality_avg - 7.0 / 3.0).abs() < 1e-9);
		assert!((s.finality_median - 2.0).abs() < 1e-9);
		assert_eq!(Stats::of(&[]), Stats::default());
	}

	proptest! {
		/// A constant rate sends `rate × duration` transactions (rounded up), in order,
		/// all within the workload.
		#[test]
		fn constant_schedule(rate in 0.1f64..500.0, duration in 0.1f64..60.0) {
			let s = Load::constant(rate, duration).schedule();
			let expect = (rate * duration - 1e-9).ceil() as usize;
			prop_assert_eq!(s.len(), expect);
			prop_assert!(s.windows(2).all(|w| w[0] < w[1]));
			prop_assert!(s.iter().all(|&t| (0.0..duration).contains(&t)));
		}

		/// Every step contributes its own count; steps never overlap.
		#[test]
		fn steps_add_up(rates in proptest::collection::vec(0.0f64..200.0, 1..6), len in 1.0f64..10.0) {
			let steps: Vec<(f64, f64)> =
				rates.iter().enumerate().map(|(i, &r)| (i as f64 * len, r)).collect();
			let load = Load { steps, duration: rates.len() as f64 * len };
			let total: usize =
				rates.iter().map(|&r| Load::constant(r, len).schedule().len()).sum();
			let s = load.schedule();
			prop_assert_eq!(s.len(), total);
			prop_assert!(s.windows(2).all(|w| w[0] <= w[1]));
		}
	}
}
