//! Plate keys: the form reads and hotlist entries are matched on, whatever
//! spacing or hyphens the camera, the CSV or the user wrote.

/// Upper-cased, only A-Z and 0-9 kept: `"bg 123-ab"` -> `"BG123AB"`.
pub fn plate_key(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A search as a key pattern: `"BG 12*"` -> `"BG12*"`; `*` stands for any
/// characters. `None` when nothing but wildcards is left (that would list
/// every read, which is not a plate search).
pub fn search_pattern(text: &str) -> Option<String> {
    let p: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '*').map(|c| c.to_ascii_uppercase()).collect();
    p.chars().any(|c| c != '*').then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_spacing_and_case() {
        assert_eq!(plate_key("bg 123-ab"), "BG123AB");
        assert_eq!(plate_key("BG123AB"), plate_key("BG 123-AB"));
        assert_eq!(search_pattern("BG 12*").as_deref(), Some("BG12*"));
        assert_eq!(search_pattern(" * "), None);
    }
}
