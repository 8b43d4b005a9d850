//! The starter library's files compiled into the binary, as plain data. Lives apart from
//! [`super::starter`] (the generator, which builds on [`super::library`]) so that
//! [`super::library::Library::starter`] can load it without depending on the generator.

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$((
            concat!("clips/", $name, ".bvh"),
            include_str!(concat!("../../assets/library/starter/clips/", $name, ".bvh")),
        )),*]
    };
}

/// The starter clips compiled into the binary: (path relative to the library, BVH text).
pub const EMBEDDED_CLIPS: &[(&str, &str)] = embedded!(
    "chill_sway",
    "chill_step_touch",
    "chill_arm_wave",
    "chill_nod_bounce",
    "chill_twist",
    "groove_bounce",
    "groove_clap_step",
    "groove_body_roll",
    "groove_grapevine",
    "groove_shoulder_pop",
    "hype_jumping_jacks",
    "hype_kicks",
    "hype_fist_pump",
    "hype_jump_turn",
    "hype_high_knees",
    "latin_salsa_basic",
    "latin_side_basic",
    "latin_cumbia",
    "latin_hip_sway",
    "latin_turn",
);

/// The starter index compiled into the binary.
pub const EMBEDDED_INDEX: &str = include_str!("../../assets/library/starter/index.json");
