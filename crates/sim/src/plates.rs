//! Licence plate texts in Serbian and a few other European formats, drawn
//! from a seeded RNG so every scene's plates are reproducible.

use rand::rngs::StdRng;
use rand::Rng;

/// Serbian registration areas written with ASCII letters only (areas with
/// Č, Ć, Đ, Š, Ž are left out so plate text stays ASCII); Belgrade dominates the demo city's traffic.
const SERBIAN_AREAS: [&str; 14] = ["NS", "NI", "KG", "SU", "PA", "ZR", "SM", "VA", "KV", "UE", "LE", "PO", "SO", "VR"];
/// Letters used in the serial's letter pair: the Latin alphabet without
/// Q, W, X, Y, which Serbian plates do not use.
const SERBIAN_LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPRSTUVZ";
const LATIN: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

/// The countries whose plates the simulated traffic carries (ISO 3166),
/// most seen first: the plate reader's regions for the simulator's video.
pub const REGIONS: [&str; 6] = ["RS", "DE", "HU", "IT", "HR", "BG"];

/// A plate: its text as printed and the issuing country (ISO 3166 alpha-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate {
    pub text: String,
    pub country: &'static str,
}

fn letters(rng: &mut StdRng, set: &[u8], n: usize) -> String {
    (0..n).map(|_| set[rng.gen_range(0..set.len())] as char).collect()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    // No leading zero: plates' numbers start at 1 (…100 or 1000).
    let first = rng.gen_range(1..10u32);
    std::iter::once(char::from_digit(first, 10).unwrap_or('1')).chain((1..n).map(|_| char::from_digit(rng.gen_range(0..10), 10).unwrap_or('0'))).collect()
}

/// Serbian format `BG 123-AB` or `BG 1234-AB`.
pub fn serbian(rng: &mut StdRng, area: &str) -> Plate {
    let n = if rng.gen_bool(0.5) { 3 } else { 4 };
    Plate { text: format!("{area} {}-{}", digits(rng, n), letters(rng, SERBIAN_LETTERS, 2)), country: "RS" }
}

/// A plate as seen in Belgrade traffic: mostly Belgrade, some other Serbian
/// areas, some foreign (Croatia, Germany, Hungary, Italy, Bulgaria).
pub fn random_plate(rng: &mut StdRng) -> Plate {
    let roll = rng.gen_range(0..100);
    match roll {
        0..=59 => serbian(rng, "BG"),
        60..=79 => {
            let area = SERBIAN_AREAS[rng.gen_range(0..SERBIAN_AREAS.len())];
            serbian(rng, area)
        }
        80..=83 => Plate { text: format!("ZG {}-{}", digits(rng, 4), letters(rng, LATIN, 2)), country: "HR" },
        84..=87 => {
            let city = ["B", "M", "HH", "S", "K"][rng.gen_range(0..5)];
            Plate { text: format!("{city} {} {}", letters(rng, LATIN, 2), digits(rng, 3)), country: "DE" }
        }
        88..=91 => Plate { text: format!("{}-{}", letters(rng, LATIN, 3), digits(rng, 3)), country: "HU" },
        92..=95 => Plate { text: format!("{} {}{}", letters(rng, LATIN, 2), digits(rng, 3), letters(rng, LATIN, 2)), country: "IT" },
        _ => Plate { text: format!("CA {} {}", digits(rng, 4), letters(rng, LATIN, 2)), country: "BG" },
    }
}

/// Whether `text` has the Serbian layout: two area letters, a space, three
/// or four digits, a hyphen, two letters.
pub fn is_serbian_format(text: &str) -> bool {
    let b = text.as_bytes();
    let upper = |c: &u8| c.is_ascii_uppercase();
    let digit = |c: &u8| c.is_ascii_digit();
    let n = b.len();
    (n == 9 || n == 10) && b[..2].iter().all(upper) && b[2] == b' ' && b[3..n - 3].iter().all(digit) && b[n - 3] == b'-' && b[n - 2..].iter().all(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn serbian_plates_have_the_serbian_layout_and_the_font_draws_every_plate() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut countries = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let p = random_plate(&mut rng);
            countries.insert(p.country);
            if p.country == "RS" {
                assert!(is_serbian_format(&p.text), "{}", p.text);
            }
            assert!(p.text.chars().all(crate::plate_font::has_glyph), "{}", p.text);
        }
        assert!(countries.len() >= 5, "{countries:?}");
        assert!(countries.iter().all(|c| REGIONS.contains(c)), "{countries:?}");
        assert!(is_serbian_format("BG 123-AB") && is_serbian_format("NS 1234-ZZ"));
        assert!(!is_serbian_format("BG 12-AB") && !is_serbian_format("BG 12345-AB") && !is_serbian_format("bg 123-AB"));
    }
}
