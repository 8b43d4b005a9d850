//! Phrasewise: music phrases in, ranked dance phrases out.
//!
//! Layers (a module may only use the ones above it), following `DESIGN.md`:
//! 0. [`audio`] decoding/resampling, [`motion`] BVH and dance phrases, [`demo`] the embedded
//!    demo song, [`files`] atomic file writing, [`limits`] the input limits;
//! 1. [`analysis`] mel, onsets, beats, bars, sections, melody, music phrases; [`cache`];
//!    [`labels`] the `phrasewise-labels/1` labeled-example types; [`bench`] labeled songs the
//!    learning benchmark makes itself;
//! 2. [`model`] the network (encoder, decoders, predictor, transition matrix), its training
//!    loops, model folder and evaluation (burn);
//! 3. [`choreo`] the choreography document, scoring, transition matrix and decoding, review;
//! 4. [`render`] the wgpu skeleton preview (no egui types; also renders offscreen);
//!    [`export`] blended dances written out (BVH + timeline);
//! 5. [`service`]: one function per user job, shared by both shells;
//! 6. the shells: [`cli`] the command line, [`app`] the desktop editor. Neither imports the
//!    other. See `docs/ARCHITECTURE.md`.

pub mod analysis;
pub mod app;
pub mod audio;
pub mod bench;
pub mod cache;
pub mod choreo;
pub mod cli;
pub mod confine;
pub mod demo;
pub mod export;
pub mod files;
pub mod labels;
pub mod limits;
pub mod model;
pub mod motion;
pub mod render;
pub mod service;
