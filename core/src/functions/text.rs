//! User-perceived characters. Terraform measures strings (`length`, `substr`, `strrev`) in
//! grapheme clusters, so "é" written as `e` + a combining accent, a flag, or an emoji with a skin
//! tone or zero-width joiners counts as one. This is a compact approximation of Unicode's
//! segmentation rules (UAX #29) covering those cases, without a table crate; it must never
//! split inside a char, and is the only place that decides where a character ends.

const ZWJ: char = '\u{200D}';

/// Marks that attach to the character before them: combining marks, variation selectors,
/// emoji skin-tone modifiers and tag characters.
fn extends(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2
        | 0x05C4..=0x05C5 | 0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670
        | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x06E7..=0x06E8 | 0x06EA..=0x06ED
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963
        | 0x0981..=0x0983 | 0x09BC..=0x09D7 | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C | 0x20D0..=0x20FF | 0x302A..=0x302F
        | 0x3099..=0x309A | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF
        | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

fn regional_indicator(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

/// Splits `s` into user-perceived characters.
pub(crate) fn graphemes(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        let mut joined = c == ZWJ;
        let mut ri_pending = regional_indicator(c);
        while let Some(&(j, next)) = chars.peek() {
            let take = (c == '\r' && next == '\n' && j == i + 1)
                || extends(next)
                || next == ZWJ
                || joined
                || (ri_pending && regional_indicator(next));
            if !take {
                break;
            }
            ri_pending = false;
            joined = next == ZWJ;
            end = j + next.len_utf8();
            chars.next();
        }
        if let Some(g) = s.get(start..end) {
            out.push(g);
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::graphemes;

    #[test]
    fn clusters() {
        assert_eq!(graphemes("abc"), vec!["a", "b", "c"]);
        assert_eq!(graphemes("e\u{301}x"), vec!["e\u{301}", "x"]);
        assert_eq!(graphemes("🇫🇷🇩🇪"), vec!["🇫🇷", "🇩🇪"]);
        assert_eq!(graphemes("👍🏽!"), vec!["👍🏽", "!"]);
        assert_eq!(graphemes("👩\u{200D}👩\u{200D}👧x"), vec!["👩\u{200D}👩\u{200D}👧", "x"]);
        assert_eq!(graphemes("a\r\nb"), vec!["a", "\r\n", "b"]);
        assert_eq!(graphemes("\u{301}a"), vec!["\u{301}", "a"]);
        assert!(graphemes("").is_empty());
    }
}
