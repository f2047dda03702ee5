//! Plate formats: the layouts of the plates Citywatch expects (Serbian
//! first, the neighbours seen in Belgrade traffic, then visitors', then
//! the Vietnamese ones of the real-photo test set), used
//! to put a raw OCR string into its printed form and to correct the
//! letter/digit confusions OCR makes (O/0, I/1, B/8, S/5, Z/2, G/6) by
//! position. The country code on a plate's blue band, which OCR reads as
//! leading letters, is dropped when the rest fits a format.

/// A layout: `L` a letter, `D` a digit; anything else is printed as is.
struct Format {
    country: &'static str,
    /// Letters the plate must start with (an area code), if any.
    prefixes: &'static [&'static str],
    layout: &'static str,
}

/// Serbian registration areas (ASCII), as on the simulator's plates.
const SERBIAN_AREAS: &[&str] = &["BG", "NS", "NI", "KG", "SU", "PA", "ZR", "SM", "VA", "KV", "UE", "LE", "PO", "SO", "VR"];
const GERMAN_ONE_LETTER: &[&str] = &["B", "M", "S", "K"];

/// In order of preference when a string fits several.
const FORMATS: &[Format] = &[
    Format { country: "RS", prefixes: SERBIAN_AREAS, layout: "LL DDD-LL" },
    Format { country: "RS", prefixes: SERBIAN_AREAS, layout: "LL DDDD-LL" },
    Format { country: "HR", prefixes: &["ZG"], layout: "LL DDDD-LL" },
    Format { country: "BG", prefixes: &["CA"], layout: "LL DDDD LL" },
    Format { country: "DE", prefixes: &["HH"], layout: "LL LL DDD" },
    Format { country: "IT", prefixes: &[], layout: "LL DDDLL" },
    Format { country: "DE", prefixes: GERMAN_ONE_LETTER, layout: "L LL DDD" },
    Format { country: "HU", prefixes: &[], layout: "LLL-DDD" },
    // Czech: region digit, region letter, a letter or digit, four digits.
    Format { country: "CZ", prefixes: &[], layout: "DLL DDDD" },
    Format { country: "CZ", prefixes: &[], layout: "DLD DDDD" },
    Format { country: "NO", prefixes: &[], layout: "LL DDDDD" },
    // Vietnamese one-row plates: province number, series letter, then
    // five digits printed `DDD.DD` (four on older plates). The real-photo
    // set (bench/plates_real) is mostly these.
    Format { country: "VN", prefixes: &[], layout: "DDL-DDD.DD" },
    Format { country: "VN", prefixes: &[], layout: "DDL-DDDD" },
];

/// Codes printed on the band at a plate's left edge (the EU's blue band,
/// Serbia's and Norway's alike) that are longer than one letter, longest
/// first so `SRB` is not taken for `S`. One-letter codes (`H`, `D`) are
/// covered by dropping any one leading letter: OCR reads the letter under
/// the band's stars as anything (`W` for `H`).
const BAND_CODES: &[&str] = &["SRB", "SLO", "MNE", "BIH", "NMK", "CZ", "SK", "HR", "BG", "RO", "AL", "GR", "PL", "NL"];

/// A plate in its printed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormattedPlate {
    pub text: String,
    /// ISO 3166 alpha-2 of the format it matched.
    pub country: &'static str,
    /// Characters changed between letter and digit to fit the format.
    pub corrections: usize,
}

fn as_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        'O' | 'D' | 'Q' => Some('0'),
        'I' | 'L' => Some('1'),
        'Z' => Some('2'),
        'S' => Some('5'),
        'G' => Some('6'),
        'T' => Some('7'),
        'B' => Some('8'),
        _ => None,
    }
}

fn as_letter(c: char) -> Option<char> {
    match c {
        'A'..='Z' => Some(c),
        '0' => Some('O'),
        '1' => Some('I'),
        '2' => Some('Z'),
        '5' => Some('S'),
        '6' => Some('G'),
        '8' => Some('B'),
        _ => None,
    }
}

fn fit(key: &[char], f: &Format) -> Option<FormattedPlate> {
    let slots: Vec<char> = f.layout.chars().filter(|c| *c == 'L' || *c == 'D').collect();
    if slots.len() != key.len() {
        return None;
    }
    let mut chars = Vec::with_capacity(key.len());
    let mut corrections = 0;
    for (&c, &slot) in key.iter().zip(&slots) {
        let fixed = if slot == 'L' { as_letter(c)? } else { as_digit(c)? };
        corrections += usize::from(fixed != c);
        chars.push(fixed);
    }
    let fixed: String = chars.iter().collect();
    if !f.prefixes.is_empty() && !f.prefixes.iter().any(|p| fixed.starts_with(p)) {
        return None;
    }
    let mut it = chars.into_iter();
    let text = f.layout.chars().map(|l| if l == 'L' || l == 'D' { it.next().unwrap_or('?') } else { l }).collect();
    Some(FormattedPlate { text, country: f.country, corrections })
}

/// The printed form of `raw` (any case, spacing or punctuation): the
/// format needing the fewest letter/digit corrections, earlier formats
/// first on a tie. A hyphen in `raw` prefers the formats printed with one
/// (Hungarian `ABC-123` over German `B AB 123`); a missing one proves
/// nothing (OCR drops hyphens). When nothing fits, a leading band code
/// (`H`, `CZ`, `SRB`) is dropped and the rest tried. `None` if no format
/// fits either way.
pub fn normalise(raw: &str) -> Option<FormattedPlate> {
    let key: Vec<char> = raw.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    let hyphen = raw.contains('-');
    best_fit(&key, hyphen).or_else(|| {
        let text: String = key.iter().collect();
        let one_letter = key.first().is_some_and(char::is_ascii_uppercase).then_some(1);
        BAND_CODES.iter().filter(|code| text.starts_with(*code)).map(|code| code.len()).chain(one_letter).find_map(|n| best_fit(&key[n..], hyphen))
    })
}

fn best_fit(key: &[char], hyphen: bool) -> Option<FormattedPlate> {
    FORMATS
        .iter()
        .filter_map(|f| fit(key, f).map(|p| (p, hyphen && !f.layout.contains('-'))))
        .min_by_key(|(p, hyphen_mismatch)| (p.corrections, *hyphen_mismatch))
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simulated_format_round_trips() {
        for (raw, want, country) in [
            ("BG123AB", "BG 123-AB", "RS"),
            ("NS 1234-ZZ", "NS 1234-ZZ", "RS"),
            ("ZG1234AB", "ZG 1234-AB", "HR"),
            ("CA1234AB", "CA 1234 AB", "BG"),
            ("HHAB123", "HH AB 123", "DE"),
            ("MAB123", "M AB 123", "DE"),
            ("MAB-123", "MAB-123", "HU"),
            ("XYZ123", "XYZ-123", "HU"),
            ("AB123CD", "AB 123CD", "IT"),
            ("5AU5341", "5AU 5341", "CZ"),
            ("8B9 3583", "8B9 3583", "CZ"),
            ("NO 23456", "NO 23456", "NO"),
            ("51G10096", "51G-100.96", "VN"),
            ("52P-5688", "52P-5688", "VN"),
        ] {
            let p = normalise(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!((p.text.as_str(), p.country), (want, country), "{raw}");
        }
    }

    #[test]
    fn letters_and_digits_are_corrected_by_position() {
        let p = normalise("8G 1O3-A8").unwrap();
        assert_eq!(p.text, "BG 103-AB");
        assert_eq!(p.corrections, 3);
        assert_eq!(normalise("BG12"), None);
        // A Vietnamese plate is not bent into the Czech layout that takes
        // the same length (`5ZP 5688`), nor a Czech one into it.
        assert_eq!(normalise("52P5688").unwrap().country, "VN");
        assert_eq!(normalise("8B93583").unwrap().text, "8B9 3583");
    }

    #[test]
    fn a_band_code_read_before_the_plate_is_dropped() {
        for (raw, want, country) in [("HLMF462", "LMF-462", "HU"), ("WLMF-462", "LMF-462", "HU"), ("CZ5AU5341", "5AU 5341", "CZ"), ("SRBBG123AB", "BG 123-AB", "RS")] {
            let p = normalise(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!((p.text.as_str(), p.country), (want, country), "{raw}");
        }
        // Only when the whole read fits nothing: `HH AB 123` keeps its HH.
        assert_eq!(normalise("HHAB123").unwrap().text, "HH AB 123");
        assert_eq!(normalise("CZ12"), None);
        assert_eq!(normalise("1BG123AB"), None, "a band holds letters only");
    }
}
