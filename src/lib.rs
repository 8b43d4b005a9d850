//! Phrasewise: music phrases in, ranked dance phrases out.
//!
//! Layers (a module may only use the ones above it), following `DESIGN.md`:
//! 0. [`audio`] decoding/resampling, [`motion`] BVH and dance phrases, [`demo`] the embedded
//!    demo song;
//! 1. [`analysis`] mel, onsets, beats, bars, sections, melody, music phrases; [`cache`];
//!    [`labels`] the `phrasewise-labels/1` labeled-example types;
//! 2. [`model`] the network (encoder, decoders, predictor, transition matrix), its training
//!    loops, model folder and evaluation (burn);
//! 3. [`choreo`] the choreography document, scoring, transition matrix and decoding, review;
//! 4. [`render`] the wgpu skeleton preview (no egui types; also renders offscreen);
//! 5. [`cli`], [`cli_motion`], [`cli_choreo`], [`cli_model`]: the command-line shells;
//!    [`app`]: the desktop editor.

pub mod analysis;
pub mod app;
pub mod audio;
pub mod cache;
pub mod choreo;
pub mod cli;
pub mod cli_choreo;
pub mod cli_learn;
pub mod cli_model;
pub mod cli_motion;
pub mod demo;
pub mod files;
pub mod labels;
pub mod model;
pub mod motion;
pub mod render;
