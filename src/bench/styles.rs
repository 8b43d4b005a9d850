//! The music styles of the learning benchmark: metre, tempo range, drum, bass and chord
//! patterns and timbres, loosely after the ballroom dances of the real held-out data. Tempo
//! ranges overlap on purpose (tango, foxtrot and cha-cha share 120–124 BPM; rumba touches
//! foxtrot), so that a model has to hear metre, rhythm and timbre, not only count beats.

/// The chord instrument of a style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comp {
    /// Sustained pad chords (slow attack).
    Pad,
    /// Decaying piano-like chords.
    Pluck,
    /// Short, reedy bandoneon-like chords.
    Reed,
}

/// The lead instrument of a style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lead {
    /// Slow-attack string line.
    Strings,
    /// Detuned reeds (bandoneon).
    Reed,
    /// Bright tone with vibrato (sax).
    Sax,
    /// Fast attack, bright, short (brass stabs).
    Brass,
    /// Nearly pure tone with vibrato (flute).
    Flute,
}

/// The extra percussion of a style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Perc {
    /// None.
    None,
    /// Two-tone metallic cowbell.
    Cowbell,
    /// High wooden click.
    Clave,
}

/// One music style. Patterns are one bar on a sixteenth-note grid (`meter × 4` characters):
/// `x` a hit, `o` a soft hit, `.` a rest; in `bass`, `1`/`3`/`5`/`8` name the chord tone
/// (root, third, fifth, octave) and `w` a walking step towards the next bar's root.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MusicStyle {
    /// Name written as the song's `style`.
    pub name: &'static str,
    /// Beats per bar (3 or 4).
    pub meter: usize,
    /// Tempo range (BPM) a song's tempo is drawn from.
    pub bpm: (f64, f64),
    /// Swing range: delay of the off-beat eighths, as a share of an eighth.
    pub swing: (f64, f64),
    /// Kick drum.
    pub kick: &'static str,
    /// Snare (or brush).
    pub snare: &'static str,
    /// Hi-hat, ride or shaker.
    pub hat: &'static str,
    /// Extra percussion ([`MusicStyle::perc_kind`]).
    pub perc: &'static str,
    /// What `perc` plays.
    pub perc_kind: Perc,
    /// Bass line.
    pub bass: &'static str,
    /// Bass note length in sixteenths.
    pub bass_len: f64,
    /// Chord hits (a hit lasts until the next one, or the bar's end).
    pub comp: &'static str,
    /// The chord instrument.
    pub comp_kind: Comp,
    /// The lead instrument.
    pub lead: Lead,
    /// Lead notes per beat (on average).
    pub lead_density: f64,
    /// Probability of a minor key.
    pub minor: f64,
    /// Chord progressions (scale degrees 0–6, one chord per bar).
    pub progressions: &'static [[usize; 4]],
    /// The starter library's styles this dance favours when its figures are chosen.
    pub home: &'static [&'static str],
}

/// The styles, in the order a config takes them (the quick benchmark takes the first four:
/// one 3/4 style and three 4/4 styles with overlapping tempi).
pub(crate) const STYLES: [MusicStyle; 6] = [
    MusicStyle {
        name: "waltz",
        meter: 3,
        bpm: (84.0, 96.0),
        swing: (0.0, 0.0),
        kick: "x...........",
        snare: "............",
        hat: "....o...o...",
        perc: "............",
        perc_kind: Perc::None,
        bass: "1...........",
        bass_len: 3.5,
        comp: "....x...x...",
        comp_kind: Comp::Pluck,
        lead: Lead::Strings,
        lead_density: 0.5,
        minor: 0.3,
        progressions: &[[0, 3, 4, 0], [0, 5, 1, 4], [0, 0, 3, 4], [5, 1, 4, 0]],
        home: &["chill", "groove"],
    },
    MusicStyle {
        name: "tango",
        meter: 4,
        bpm: (118.0, 132.0),
        swing: (0.0, 0.0),
        kick: "x...o...x...o...",
        snare: "............x.x.",
        hat: "................",
        perc: "................",
        perc_kind: Perc::None,
        bass: "1...5...1.....5.",
        bass_len: 1.5,
        comp: "x...x...x...x...",
        comp_kind: Comp::Reed,
        lead: Lead::Reed,
        lead_density: 1.0,
        minor: 0.8,
        progressions: &[[0, 3, 4, 0], [0, 4, 4, 0], [5, 3, 4, 0], [0, 6, 5, 4]],
        home: &["hype", "latin"],
    },
    MusicStyle {
        name: "foxtrot",
        meter: 4,
        bpm: (108.0, 124.0),
        swing: (0.2, 0.35),
        kick: "x.......o.......",
        snare: "....o.......o...",
        hat: "x...x.x.x...x.x.",
        perc: "................",
        perc_kind: Perc::None,
        bass: "1...w...w...w...",
        bass_len: 3.5,
        comp: "....x.......x...",
        comp_kind: Comp::Pluck,
        lead: Lead::Sax,
        lead_density: 1.5,
        minor: 0.2,
        progressions: &[[1, 4, 0, 0], [0, 5, 1, 4], [2, 5, 1, 4], [0, 3, 1, 4]],
        home: &["groove", "chill"],
    },
    MusicStyle {
        name: "chacha",
        meter: 4,
        bpm: (116.0, 128.0),
        swing: (0.0, 0.05),
        kick: "x.......x.......",
        snare: "............x.x.",
        hat: "x.x.x.x.x.x.x.x.",
        perc: "x...x...x...x...",
        perc_kind: Perc::Cowbell,
        bass: "......1.....5...",
        bass_len: 3.0,
        comp: "x..x..x...x..x..",
        comp_kind: Comp::Pluck,
        lead: Lead::Brass,
        lead_density: 1.0,
        minor: 0.4,
        progressions: &[[0, 3, 4, 3], [0, 4, 5, 3], [1, 4, 0, 0], [0, 5, 3, 4]],
        home: &["latin", "groove"],
    },
    MusicStyle {
        name: "rumba",
        meter: 4,
        bpm: (98.0, 110.0),
        swing: (0.0, 0.05),
        kick: "x.......o.......",
        snare: "................",
        hat: "..o...o...o...o.",
        perc: "x..x..x...x.x...",
        perc_kind: Perc::Clave,
        bass: "1.....1.5.......",
        bass_len: 2.5,
        comp: "x...............",
        comp_kind: Comp::Pad,
        lead: Lead::Flute,
        lead_density: 0.75,
        minor: 0.5,
        progressions: &[[0, 5, 3, 4], [0, 3, 0, 4], [5, 3, 0, 4], [0, 1, 4, 0]],
        home: &["latin", "chill"],
    },
    MusicStyle {
        name: "viennese",
        meter: 3,
        bpm: (164.0, 184.0),
        swing: (0.0, 0.0),
        kick: "x...........",
        snare: "....o...o...",
        hat: "x...x...x...",
        perc: "............",
        perc_kind: Perc::None,
        bass: "1.......5...",
        bass_len: 2.0,
        comp: "....x...x...",
        comp_kind: Comp::Reed,
        lead: Lead::Brass,
        lead_density: 0.34,
        minor: 0.3,
        progressions: &[[0, 4, 4, 0], [0, 3, 4, 0], [0, 0, 4, 4], [0, 5, 1, 4]],
        home: &["hype", "groove"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fill_one_bar_and_tempi_overlap() {
        for s in &STYLES {
            for p in [s.kick, s.snare, s.hat, s.perc, s.bass, s.comp] {
                assert_eq!(p.len(), s.meter * 4, "{}: `{p}`", s.name);
            }
            assert!(s.bpm.0 < s.bpm.1 && s.swing.0 <= s.swing.1, "{}", s.name);
        }
        assert!(STYLES.iter().any(|s| s.meter == 3) && STYLES.iter().any(|s| s.meter == 4));
        // Tempo alone does not separate the 4/4 styles of the quick set.
        let overlap = |a: &MusicStyle, b: &MusicStyle| a.bpm.0 < b.bpm.1 && b.bpm.0 < a.bpm.1;
        assert!(overlap(&STYLES[1], &STYLES[2]) && overlap(&STYLES[1], &STYLES[3]));
        assert!(overlap(&STYLES[2], &STYLES[3]) && overlap(&STYLES[2], &STYLES[4]));
    }
}
