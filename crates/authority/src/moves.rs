//! Changes of address and of the record (券面記載事項の変更): move-out,
//! move-in with continued use, moves within the municipality, marriage and
//! name changes, death, departure abroad, foreign residents' validity change.
