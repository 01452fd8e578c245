//! `cip generate`: a realistic synthetic venue chain, streamed into a ready data directory.
//!
//! Deterministic for a seed: every member draws from its own random stream (seed, member
//! number), so the output does not depend on batching. Each member's generating archetype is
//! written beside the tables to `archetypes.parquet` (not a table) so tests can score the
//! segmentation against the truth.

mod out;
mod people;
mod truth;
mod venue;

pub use venue::Venue;

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use chrono::{Duration, NaiveDate};
use out::TableOut;
use people::Archetype;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use truth::Truth;

pub struct GenOptions {
    pub members: u64,
    pub seed: u64,
    pub stores: u32,
    /// The last business day of the history.
    pub until: NaiveDate,
    pub progress: bool,
    /// Prices, rhythm and archetype mix (`--venue`, `--price-scale`).
    pub venue: Venue,
}

const HISTORY_DAYS: i64 = 730;

/// Past campaigns: (id, name, segment, type, offer, days before `until`).
const CAMPAIGNS: [(&str, &str, &str, &str, &str, i64); 4] = [
    (
        "C0001",
        "Spring beer festival",
        "regular",
        "discount",
        "20% off beer towers",
        120,
    ),
    (
        "C0002",
        "Welcome back",
        "churn_risk",
        "retention",
        "Free room hour on your next visit",
        90,
    ),
    (
        "C0003",
        "New member coupon",
        "new",
        "coupon",
        "¥50 coupon over ¥300",
        60,
    ),
    (
        "C0004",
        "Double points weekend",
        "loyal",
        "points_multiplier",
        "2x points Fri-Sun",
        30,
    ),
];

pub fn parse_until(s: Option<&str>) -> Result<NaiveDate> {
    match s {
        None => Ok(chrono::Local::now().date_naive()),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            CipError::invalid(
                sqlstate::INVALID_DATETIME_FORMAT,
                format!("--until {s:?}: expected YYYY-MM-DD"),
            )
        }),
    }
}

fn micros(d: NaiveDate, minute_of_day: i64) -> i64 {
    let midnight = d
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros();
    midnight + minute_of_day * 60_000_000
}

pub fn generate(root: &Path, opts: &GenOptions, _tz: chrono_tz::Tz) -> Result<()> {
    if opts.members == 0 || opts.stores == 0 {
        return Err(CipError::invalid(
            sqlstate::INVALID_PARAMETER_VALUE,
            "--members and --stores must be at least 1",
        ));
    }
    if root.exists()
        && std::fs::read_dir(root)
            .map_err(|e| CipError::io(format!("list {}", root.display()), e))?
            .next()
            .is_some()
    {
        return Err(CipError::DataDir {
            path: root.to_path_buf(),
            message: "is not empty; generate writes a new data directory".into(),
        });
    }
    std::fs::create_dir_all(root)
        .map_err(|e| CipError::io(format!("create {}", root.display()), e))?;
    let started = std::time::Instant::now();
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(opts.members);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} generating members {bar:40} {pos}/{len} [{elapsed_precise}, eta {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut g = Gen::new(root, opts)?;
    for i in 0..opts.members {
        g.member(i)?;
        if i % 4096 == 0 {
            bar.set_position(i);
        }
    }
    bar.finish_and_clear();
    let counts = g.finish(root)?;
    // The format marker goes last: a half-written directory is refused, not half-served.
    crate::storage::write_format(root)?;
    crate::warehouse::open(
        root,
        crate::storage::StoreOptions::default(),
        crate::engine::SEEDS,
        std::sync::Arc::default(),
    )?;
    eprintln!(
        "generated {} members, {} visits, {} order items, {} tracking events into {} in {:.1?}",
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        root.display(),
        started.elapsed()
    );
    Ok(())
}

struct Gen<'a> {
    opts: &'a GenOptions,
    members: TableOut,
    visits: TableOut,
    items: TableOut,
    tracking: TableOut,
    audience: TableOut,
    truth: Truth,
    visit_seq: u64,
    tracking_seq: i64,
}

impl<'a> Gen<'a> {
    fn new(root: &Path, opts: &'a GenOptions) -> Result<Self> {
        Ok(Gen {
            opts,
            members: TableOut::new(root, "members")?,
            visits: TableOut::new(root, "visits")?,
            items: TableOut::new(root, "order_items")?,
            tracking: TableOut::new(root, "campaign_tracking")?,
            audience: TableOut::new(root, "campaign_audience")?,
            truth: Truth::new(root)?,
            visit_seq: 0,
            tracking_seq: 0,
        })
    }

    fn member(&mut self, i: u64) -> Result<()> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
        let a = Archetype::draw(&mut rng, &self.opts.venue);
        let id = format!("M{:08}", i + 1);
        let home = rng.random_range(0..self.opts.stores);
        let reg_ago = match a {
            Archetype::New => rng.random_range(0..30),
            Archetype::ChurnRisk => rng.random_range(240..HISTORY_DAYS),
            _ => rng.random_range(90..HISTORY_DAYS),
        };
        let registered = self.opts.until - Duration::days(reg_ago);
        let first_visit = registered + Duration::days(rng.random_range(0..=reg_ago.min(3)));
        let span = (self.opts.until - first_visit).num_days();
        let lapse = match a {
            // Silent for 60-200 days at a KTV's rhythm, longer or shorter at other venues'.
            Archetype::ChurnRisk => {
                let lapse = rng.random_range(60..200) as f64 * self.opts.venue.rhythm();
                (lapse as i64).min(span - 45).max(0)
            }
            _ => 0,
        };
        let taste = people::taste(&mut rng);
        let mut spent_cents = 0i64;
        for d in people::visit_days(&mut rng, &self.opts.venue, a, span, lapse) {
            spent_cents += self.visit(
                &mut rng,
                a,
                &id,
                home,
                first_visit + Duration::days(d),
                &taste,
            )?;
        }
        let consent = rng.random_bool(0.85);
        let m = &mut self.members;
        m.text(0, Some(&id));
        m.text(1, Some(&people::name(&mut rng)));
        m.text(2, Some(&people::phone(&mut rng)));
        m.text(3, Some(&store_id(home)));
        m.text(4, Some(a.tier(&mut rng)));
        m.text(
            5,
            Some(if rng.random_bool(0.98) {
                "active"
            } else {
                "inactive"
            }),
        );
        m.ts(6, Some(micros(registered, rng.random_range(600..1380))));
        m.i64(7, Some(spent_cents / 1000));
        m.bool(8, Some(consent));
        m.end_row()?;
        if consent {
            self.campaigns(&mut rng, &id, registered)?;
        }
        self.truth.push(&id, a.id())
    }

    fn visit(
        &mut self,
        rng: &mut ChaCha8Rng,
        a: Archetype,
        member: &str,
        home: u32,
        day: NaiveDate,
        taste: &[u32; 6],
    ) -> Result<i64> {
        self.visit_seq += 1;
        let vid = format!("V{:010}", self.visit_seq);
        let store = if rng.random_bool(0.85) {
            home
        } else {
            rng.random_range(0..self.opts.stores)
        };
        let cents = people::spend_cents(rng, &self.opts.venue, a);
        let v = &mut self.visits;
        v.text(0, Some(&vid));
        v.text(1, Some(member));
        v.text(2, Some(&store_id(store)));
        v.ts(3, Some(micros(day, people::start_minute_of_day(rng))));
        v.money(4, Some(cents));
        v.end_row()?;
        // Split the visit's amount over its items; the last item takes the remainder so the
        // items add up to the visit exactly.
        let n = 1 + people::pick_weighted(rng, &[30, 35, 25, 10]);
        let weights: Vec<i64> = (0..n).map(|_| rng.random_range(1..10)).collect();
        let total: i64 = weights.iter().sum();
        let mut left = cents;
        for (k, w) in weights.iter().enumerate() {
            let part = if k + 1 == n { left } else { cents * w / total };
            left -= part;
            let cat = people::CATEGORIES[people::pick_weighted(rng, taste)];
            let choices = people::items_of(cat);
            let it = &mut self.items;
            it.text(0, Some(&vid));
            it.text(1, Some(member));
            it.text(2, Some(cat));
            it.text(3, Some(choices[rng.random_range(0..choices.len())]));
            it.i32(4, Some(rng.random_range(1..4)));
            it.money(5, Some(part));
            it.end_row()?;
        }
        Ok(cents)
    }

    /// Past campaigns: a sample of consenting members was targeted, 10% of them held out;
    /// the treated got a message and some went down the funnel.
    fn campaigns(
        &mut self,
        rng: &mut ChaCha8Rng,
        member: &str,
        registered: NaiveDate,
    ) -> Result<()> {
        for (cid, _, _, _, _, ago) in CAMPAIGNS {
            let day = self.opts.until - Duration::days(ago);
            if registered >= day || !rng.random_bool(0.15) {
                continue;
            }
            let at = micros(day, 14 * 60);
            let holdout = rng.random_bool(0.10);
            let au = &mut self.audience;
            au.text(0, Some(cid));
            au.text(1, Some(member));
            au.text(2, Some(if holdout { "holdout" } else { "treatment" }));
            au.text(3, Some(if rng.random_bool(0.5) { "A" } else { "B" }));
            au.ts(4, Some(at));
            au.end_row()?;
            if holdout {
                continue;
            }
            let funnel = [
                ("sent", 1.0),
                ("delivered", 0.95),
                ("opened", 0.40),
                ("clicked", 0.35),
                ("converted", 0.30),
            ];
            for (step, (status, p)) in funnel.iter().enumerate() {
                if !rng.random_bool(*p) {
                    break;
                }
                let (revenue, cost) = match *status {
                    "sent" => (0, 5),
                    "converted" => (
                        people::spend_cents(rng, &self.opts.venue, Archetype::Regular),
                        2000,
                    ),
                    _ => (0, 0),
                };
                self.tracking_seq += 1;
                let t = &mut self.tracking;
                t.i64(0, Some(self.tracking_seq));
                t.text(1, Some(cid));
                t.text(2, Some(member));
                t.text(3, Some(status));
                t.money(4, Some(revenue));
                t.money(5, Some(cost));
                t.ts(6, Some(at + step as i64 * 3_600_000_000));
                t.end_row()?;
            }
        }
        Ok(())
    }

    fn finish(self, root: &Path) -> Result<(u64, u64, u64, u64)> {
        let mut c = TableOut::new(root, "campaigns")?;
        for (cid, name, segment, kind, offer, ago) in CAMPAIGNS {
            let at = micros(self.opts.until - Duration::days(ago), 10 * 60);
            c.text(0, Some(cid));
            c.text(1, Some(name));
            c.text(2, Some(segment));
            c.text(3, Some(kind));
            c.text(4, Some(offer));
            c.ts(5, Some(at));
            c.f64(6, Some(0.10));
            c.text(7, Some("[\"A\",\"B\"]"));
            c.text(8, Some("sms"));
            c.ts(9, Some(at));
            c.text(10, Some("generator"));
            c.money(11, Some(5));
            c.money(12, Some(2000));
            c.i32(13, Some(14));
            c.text(14, None);
            c.end_row()?;
        }
        c.finish(1)?;
        let m = self.members.finish(1)?;
        let v = self.visits.finish(1)?;
        let i = self.items.finish(1)?;
        let t = self.tracking.finish(self.tracking_seq + 1)?;
        self.audience.finish(1)?;
        self.truth.finish()?;
        Ok((m, v, i, t))
    }
}

fn store_id(n: u32) -> String {
    format!("S{:03}", n + 1)
}
