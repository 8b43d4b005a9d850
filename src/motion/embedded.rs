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
    "chill_sway_reach",
    "chill_step_touch",
    "chill_step_touch_clap",
    "chill_arm_wave",
    "chill_arm_wave_bounce",
    "chill_nod_bounce",
    "chill_nod_bounce_twist",
    "chill_twist",
    "chill_twist_travel",
    "groove_bounce",
    "groove_bounce_clap",
    "groove_clap_step",
    "groove_clap_step_reach",
    "groove_body_roll",
    "groove_body_roll_twist",
    "groove_grapevine",
    "groove_grapevine_clap",
    "groove_shoulder_pop",
    "groove_shoulder_pop_travel",
    "hype_jumping_jacks",
    "hype_jumping_jacks_reach",
    "hype_kicks",
    "hype_kicks_clap",
    "hype_fist_pump",
    "hype_fist_pump_travel",
    "hype_jump_turn",
    "hype_jump_turn_clap",
    "hype_high_knees",
    "hype_high_knees_reach",
    "latin_salsa_basic",
    "latin_salsa_basic_reach",
    "latin_side_basic",
    "latin_side_basic_twist",
    "latin_cumbia",
    "latin_cumbia_clap",
    "latin_hip_sway",
    "latin_hip_sway_bounce",
    "latin_turn",
    "latin_turn_clap",
    "waltz_box",
    "waltz_box_reach",
    "waltz_balance",
    "waltz_balance_twist",
    "waltz_sway",
    "waltz_sway_clap",
    "waltz_turn",
    "waltz_turn_reach",
    "waltz_hesitation",
    "waltz_hesitation_bounce",
    "street_running_man",
    "street_running_man_clap",
    "street_cabbage_patch",
    "street_cabbage_patch_travel",
    "street_side_shuffle",
    "street_side_shuffle_clap",
    "street_dougie",
    "street_dougie_twist",
    "street_point",
    "street_point_bounce",
);

/// The starter index compiled into the binary.
pub const EMBEDDED_INDEX: &str = include_str!("../../assets/library/starter/index.json");
