//! An upgrade's rewards: the tier rule's reward_points plus its rewards JSON (coupons, gifts,
//! discount, anything else the operator wrote), recorded as one JSON object in
//! upgrade_history.rewards, and said in words in the run's message.

use crate::error::sqlstate;
use crate::error::CipError;
use serde_json::{Map, Value};

/// The rewards granted for reaching `tier`: `{"points": n, ...the rule's rewards}`.
pub fn grant(tier: &str, points: i64, rule: Option<&str>) -> Result<Value, CipError> {
    let mut object = match rule.map(str::trim).filter(|s| !s.is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => o,
            Ok(_) | Err(_) => {
                return Err(CipError::invalid(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!(
                        "tier_rules: the rewards of tier {tier:?} are not a JSON object: {text}"
                    ),
                ))
            }
        },
    };
    object.insert("points".into(), Value::from(points));
    Ok(Value::Object(object))
}

/// "upgraded from silver to gold: 800 points, coupon ¥100 off…, gift fruit platter, 5% off".
pub fn message(from: Option<&str>, to: &str, rewards: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(p) = rewards
        .get("points")
        .and_then(Value::as_i64)
        .filter(|p| *p > 0)
    {
        parts.push(format!("{p} points"));
    }
    for (key, label) in [("coupons", "coupon"), ("gifts", "gift")] {
        match rewards.get(key) {
            Some(Value::Array(items)) => {
                parts.extend(items.iter().map(|i| format!("{label} {}", plain(i))))
            }
            Some(Value::Null) | None => {}
            Some(other) => parts.push(format!("{label} {}", plain(other))),
        }
    }
    if let Some(d) = rewards.get("discount").and_then(Value::as_f64) {
        parts.push(format!("{}% off", (d * 100.0 * 10.0).round() / 10.0));
    }
    for (key, value) in rewards.as_object().into_iter().flatten() {
        if !["points", "coupons", "gifts", "discount"].contains(&key.as_str()) {
            parts.push(format!("{key}: {}", plain(value)));
        }
    }
    let head = match from {
        Some(f) => format!("upgraded from {f} to {to}"),
        None => format!("upgraded to {to}"),
    };
    if parts.is_empty() {
        head
    } else {
        format!("{head}: {}", parts.join(", "))
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_are_the_rule_plus_points() {
        let g = grant(
            "gold",
            800,
            Some(r#"{"gifts":["fruit platter"],"discount":0.05}"#),
        )
        .expect("valid");
        assert_eq!(g["points"], 800);
        assert_eq!(
            message(Some("silver"), "gold", &g),
            "upgraded from silver to gold: 800 points, gift fruit platter, 5% off"
        );
        assert!(grant("gold", 1, Some("[1]")).is_err());
        assert!(grant("gold", 1, Some("not json")).is_err());
        assert_eq!(grant("basic", 0, None).expect("empty")["points"], 0);
    }
}
