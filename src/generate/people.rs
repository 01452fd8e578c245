//! Who the synthetic members are: archetypes and how each one behaves.
//!
//! The archetypes mirror the six segments so tests can score the segmentation against the
//! generator's truth: a VIP visits often and spends a lot, a "potential" member spends a lot
//! but comes rarely, a churn-risk member used to come regularly and stopped, and so on. How
//! often and how much is the venue's (venue.rs).

use super::venue::Venue;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archetype {
    Vip,
    Loyal,
    Potential,
    Regular,
    ChurnRisk,
    New,
}

impl Archetype {
    pub fn id(self) -> &'static str {
        match self {
            Archetype::Vip => "vip",
            Archetype::Loyal => "loyal",
            Archetype::Potential => "potential",
            Archetype::Regular => "regular",
            Archetype::ChurnRisk => "churn_risk",
            Archetype::New => "new",
        }
    }

    const ALL: [Archetype; 6] = [
        Archetype::Vip,
        Archetype::Loyal,
        Archetype::Potential,
        Archetype::Regular,
        Archetype::ChurnRisk,
        Archetype::New,
    ];

    /// Position in the venue's per-archetype tables.
    fn index(self) -> usize {
        Self::ALL.iter().position(|a| *a == self).unwrap_or(3)
    }

    pub fn draw(rng: &mut ChaCha8Rng, venue: &Venue) -> Archetype {
        let mut x = rng.random_range(0..100u32);
        for (a, share) in Self::ALL.into_iter().zip(venue.mix) {
            if x < share {
                return a;
            }
            x -= share;
        }
        Archetype::Regular
    }

    pub fn tier(self, rng: &mut ChaCha8Rng) -> &'static str {
        const TIERS: [&str; 5] = ["basic", "silver", "gold", "platinum", "diamond"];
        let base = match self {
            Archetype::Vip => 3,
            Archetype::Loyal | Archetype::Potential => 2,
            Archetype::Regular | Archetype::ChurnRisk => 1,
            Archetype::New => 0,
        };
        let shift: i32 = rng.random_range(-1..=1);
        TIERS[(base + shift).clamp(0, 4) as usize]
    }
}

/// Days from the member's first visit to each visit, for an archetype, within `span_days`.
/// `lapse_days` (churn risk) is how long before the end the member stopped coming.
pub fn visit_days(
    rng: &mut ChaCha8Rng,
    venue: &Venue,
    a: Archetype,
    span_days: i64,
    lapse_days: i64,
) -> Vec<i64> {
    let active = (span_days - lapse_days).max(0);
    // Gaps are Gamma with shape 2, not exponential: members keep a habit (a regular comes
    // about every two months), so a long silence means something, as it does in real venues.
    let gap = Gamma::new(2.0, venue.gap_days[a.index()] / 2.0).expect("positive shape and scale");
    let mut days = vec![0i64];
    if a == Archetype::New {
        // A newcomer has one visit, sometimes a second one.
        if rng.random_bool(0.3) && span_days > 1 {
            days.push(rng.random_range(1..=span_days));
        }
        return days;
    }
    let mut t = 0.0f64;
    loop {
        t += 1.0 + gap.sample(rng);
        if t as i64 > active {
            break;
        }
        days.push(t as i64);
    }
    days
}

/// A visit's spend in cents, around the archetype's median. Drawn at the venue's own prices
/// and rounded to a tenth of a unit before `price_scale`, so chains priced ×0.1 and ×10 hold
/// exactly proportional amounts.
pub fn spend_cents(rng: &mut ChaCha8Rng, venue: &Venue, a: Archetype) -> i64 {
    let median = venue.median_spend[a.index()];
    let d = LogNormal::new(median.ln(), 0.45).expect("valid lognormal");
    let tenths = (d.sample(rng).clamp(median / 10.0, median * 60.0) * 10.0).round();
    (tenths * 10.0 * venue.price_scale).round() as i64
}

/// Start hour of a visit: mostly 19:00-03:00, a few afternoons.
pub fn start_minute_of_day(rng: &mut ChaCha8Rng) -> i64 {
    const HOURS: [(i64, u32); 10] = [
        (19, 14),
        (20, 20),
        (21, 20),
        (22, 15),
        (23, 10),
        (24, 7),
        (25, 4),
        (26, 2),
        (14, 4),
        (16, 4),
    ];
    let total: u32 = HOURS.iter().map(|h| h.1).sum();
    let mut x = rng.random_range(0..total);
    for (h, w) in HOURS {
        if x < w {
            return h * 60 + rng.random_range(0..60);
        }
        x -= w;
    }
    20 * 60
}

pub const CATEGORIES: [&str; 6] = ["beer", "wine", "spirits", "package", "snack", "other"];

pub fn items_of(category: &str) -> &'static [&'static str] {
    match category {
        "beer" => &[
            "Tsingtao bucket",
            "Craft IPA tower",
            "Draft pint",
            "Budweiser 12-pack",
        ],
        "wine" => &["House red bottle", "Prosecco", "Chardonnay glass"],
        "spirits" => &["Whisky bottle", "Baijiu set", "Cocktail"],
        "package" => &[
            "Small room 3h",
            "Medium room 4h",
            "Party room night",
            "Birthday package",
        ],
        "snack" => &["Fruit platter", "Popcorn", "Chicken wings", "Dried beef"],
        _ => &["Service fee", "Cake", "Cigarettes"],
    }
}

/// A member's category taste: weights over CATEGORIES, with one favourite.
pub fn taste(rng: &mut ChaCha8Rng) -> [u32; 6] {
    let mut w = [30, 12, 10, 28, 16, 4];
    let fav = match rng.random_range(0..100u32) {
        0..=34 => 0,
        35..=49 => 1,
        50..=57 => 2,
        58..=84 => 3,
        _ => 4,
    };
    w[fav] += 60;
    w
}

pub fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
}

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
];

pub fn name(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::from(SURNAMES[rng.random_range(0..SURNAMES.len())]);
    s.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    if rng.random_bool(0.5) {
        s.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    }
    s
}

pub fn phone(rng: &mut ChaCha8Rng) -> String {
    const PREFIX: [&str; 6] = ["138", "139", "135", "186", "158", "177"];
    format!(
        "{}{:08}",
        PREFIX[rng.random_range(0..PREFIX.len())],
        rng.random_range(0..100_000_000u32)
    )
}
