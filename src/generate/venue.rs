//! The kind of venue a generated chain is: price level, visit rhythm and archetype mix.
//!
//! Segment rules must hold on any chain's data, so `cip generate --venue` makes chains of
//! different shapes — a KTV priced in yuan, a cheap beer bar visited weekly, an expensive
//! lounge with many big spenders, a pub priced in dollars — and `--price-scale` multiplies
//! every amount (the same members and visits, priced ×0.1 or ×10). Each archetype keeps its
//! meaning everywhere (a VIP spends far more than most and comes often); the figures that
//! express it differ per venue on purpose.

use crate::error::{sqlstate, CipError, Result};

/// Per archetype in the order vip, loyal, potential, regular, churn_risk, new.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub name: &'static str,
    /// Mean days between visits while active.
    pub gap_days: [f64; 6],
    /// Median spend per visit, in the venue's currency.
    pub median_spend: [f64; 6],
    /// Share of the member base, in percent (sums to 100).
    pub mix: [u32; 6],
    /// Multiplies every amount.
    pub price_scale: f64,
}

const VENUES: [Venue; 4] = [
    Venue {
        name: "ktv",
        gap_days: [16.0, 27.0, 85.0, 58.0, 24.0, 10.0],
        median_spend: [1600.0, 420.0, 1500.0, 320.0, 380.0, 360.0],
        mix: [5, 15, 10, 35, 20, 15],
        price_scale: 1.0,
    },
    // Cheap and frequent: regulars come about every three weeks, spend is a seventh of a
    // KTV's, and big spenders are rarer relative to the crowd.
    Venue {
        name: "beer_bar",
        gap_days: [6.0, 10.0, 40.0, 22.0, 9.0, 5.0],
        median_spend: [230.0, 70.0, 220.0, 50.0, 60.0, 55.0],
        mix: [8, 22, 8, 32, 15, 15],
        price_scale: 1.0,
    },
    // Expensive and slower, with three times the KTV's share of big spenders.
    Venue {
        name: "lounge",
        gap_days: [21.0, 35.0, 110.0, 75.0, 30.0, 14.0],
        median_spend: [5200.0, 1500.0, 4800.0, 1100.0, 1300.0, 1200.0],
        mix: [12, 18, 15, 25, 15, 15],
        price_scale: 1.0,
    },
    // Priced in dollars, mostly regulars.
    Venue {
        name: "pub_usd",
        gap_days: [12.0, 20.0, 70.0, 45.0, 18.0, 8.0],
        median_spend: [95.0, 26.0, 90.0, 19.0, 22.0, 21.0],
        mix: [4, 12, 12, 40, 20, 12],
        price_scale: 1.0,
    },
];

impl Default for Venue {
    fn default() -> Self {
        VENUES[0].clone()
    }
}

impl Venue {
    /// The venue called `name`, priced × `price_scale`.
    pub fn named(name: &str, price_scale: f64) -> Result<Venue> {
        if !(price_scale.is_finite() && price_scale > 0.0) {
            return Err(CipError::invalid(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("--price-scale {price_scale}: must be a number above 0"),
            ));
        }
        let v = VENUES.iter().find(|v| v.name == name).ok_or_else(|| {
            let names: Vec<&str> = VENUES.iter().map(|v| v.name).collect();
            CipError::invalid(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("--venue {name:?}: expected one of {}", names.join(", ")),
            )
        })?;
        Ok(Venue {
            price_scale,
            ..v.clone()
        })
    }

    /// How much slower (> 1) or faster this venue's rhythm is than the KTV's: a lapsed
    /// member's silence is measured in their own venue's rhythm.
    pub fn rhythm(&self) -> f64 {
        self.gap_days[4] / VENUES[0].gap_days[4]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venues_are_whole_mixes_and_named_ones_only() {
        for v in VENUES {
            assert_eq!(v.mix.iter().sum::<u32>(), 100, "{}", v.name);
        }
        assert_eq!(
            Venue::named("lounge", 10.0).map(|v| v.price_scale).ok(),
            Some(10.0)
        );
        assert!(Venue::named("disco", 1.0).is_err());
        assert!(Venue::named("ktv", 0.0).is_err());
    }
}
