//! BVH (Biovision Hierarchy) reader and writer.
//!
//! Follows the de-facto format described by Meredith & Maddock, "Motion capture file formats
//! explained" (2001): a `HIERARCHY` of `ROOT`/`JOINT`/`End Site` blocks with `OFFSET` and
//! `CHANNELS` (any order, positions allowed on any joint), then `MOTION`, `Frames:`,
//! `Frame Time:` and one line of numbers per frame. A joint's local transform is
//! `T(offset + position channels) · R(ch1) · R(ch2) · R(ch3)` with the rotations multiplied
//! in the order the channels are listed (so `Zrotation Xrotation Yrotation` is `Rz·Rx·Ry`),
//! angles in degrees.
//!
//! The frame section is parsed straight from the byte buffer with a hand-written number
//! scanner (Clinger's fast path: an integer mantissa of at most 15 digits scaled by an exact
//! power of ten, else the standard library parser), so a 50 MB file needs no per-line or
//! per-number allocation. Every error names the file and the 1-based line.

use super::MotionError;
use super::quat::{Axis, Quat, Vec3};
use crate::limits;
use std::fmt::Write as _;
use std::path::Path;

/// One BVH channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `Xposition`.
    XPos,
    /// `Yposition`.
    YPos,
    /// `Zposition`.
    ZPos,
    /// `Xrotation`.
    XRot,
    /// `Yrotation`.
    YRot,
    /// `Zrotation`.
    ZRot,
}

impl Channel {
    /// Parses a channel name (case-insensitive, as some exporters write `XROTATION`).
    pub fn parse(s: &str) -> Option<Channel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "xposition" => Channel::XPos,
            "yposition" => Channel::YPos,
            "zposition" => Channel::ZPos,
            "xrotation" => Channel::XRot,
            "yrotation" => Channel::YRot,
            "zrotation" => Channel::ZRot,
            _ => return None,
        })
    }

    /// The canonical spelling.
    pub fn name(self) -> &'static str {
        match self {
            Channel::XPos => "Xposition",
            Channel::YPos => "Yposition",
            Channel::ZPos => "Zposition",
            Channel::XRot => "Xrotation",
            Channel::YRot => "Yrotation",
            Channel::ZRot => "Zrotation",
        }
    }

    /// The axis of a rotation channel, `None` for a position channel.
    pub fn rotation_axis(self) -> Option<Axis> {
        match self {
            Channel::XRot => Some(Axis::X),
            Channel::YRot => Some(Axis::Y),
            Channel::ZRot => Some(Axis::Z),
            _ => None,
        }
    }

    /// The axis index of a position channel, `None` for a rotation channel.
    pub fn position_axis(self) -> Option<usize> {
        match self {
            Channel::XPos => Some(0),
            Channel::YPos => Some(1),
            Channel::ZPos => Some(2),
            _ => None,
        }
    }
}

/// A joint of a BVH hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct BvhJoint {
    /// Joint name as written after `ROOT`/`JOINT`.
    pub name: String,
    /// Parent index; `None` for the root. Parents always precede children.
    pub parent: Option<usize>,
    /// `OFFSET` from the parent, in file units.
    pub offset: Vec3,
    /// Channels in file order.
    pub channels: Vec<Channel>,
    /// Index of this joint's first channel within a frame.
    pub first_channel: usize,
    /// `End Site` offsets (usually zero or one).
    pub end_sites: Vec<Vec3>,
}

impl BvhJoint {
    /// The rotation channels' axes, in file order (the joint's rotation order).
    pub fn rotation_order(&self) -> Vec<Axis> {
        self.channels
            .iter()
            .filter_map(|c| c.rotation_axis())
            .collect()
    }
}

/// A parsed BVH file: hierarchy plus frame data.
#[derive(Clone, Debug, PartialEq)]
pub struct Bvh {
    /// Joints in file (depth-first) order.
    pub joints: Vec<BvhJoint>,
    /// Seconds per frame as written in the header.
    pub frame_time: f64,
    /// Number of frames.
    pub frames: usize,
    /// Channel values, `frames × channel_count()`, row-major, in file units and degrees.
    pub data: Vec<f64>,
}

/// Parse limits.
#[derive(Clone, Copy, Debug)]
pub struct BvhLimits {
    /// Most joints accepted.
    pub max_joints: usize,
    /// Most frames accepted.
    pub max_frames: usize,
    /// Most values (frames × channels) accepted.
    pub max_values: usize,
    /// Frame times accepted (s).
    pub frame_time: (f64, f64),
    /// Longest clip accepted (frames × frame time, s).
    pub max_seconds: f64,
}

impl Default for BvhLimits {
    fn default() -> Self {
        BvhLimits {
            max_joints: 4096,
            max_frames: limits::MAX_BVH_FRAMES,
            max_values: limits::MAX_BVH_VALUES,
            frame_time: (limits::MIN_FRAME_TIME, limits::MAX_FRAME_TIME),
            max_seconds: limits::MAX_MOTION_SECONDS,
        }
    }
}

impl Bvh {
    /// Total channels per frame.
    pub fn channel_count(&self) -> usize {
        self.joints.iter().map(|j| j.channels.len()).sum()
    }

    /// Frames per second from the header's frame time.
    pub fn fps(&self) -> f64 {
        if self.frame_time > 0.0 {
            1.0 / self.frame_time
        } else {
            0.0
        }
    }

    /// Index of the joint called `name`.
    pub fn joint_index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// The channel values of one frame.
    pub fn frame(&self, f: usize) -> &[f64] {
        let n = self.channel_count();
        let start = (f * n).min(self.data.len());
        let end = (start + n).min(self.data.len());
        &self.data[start..end]
    }

    /// Local translation and rotation of joint `j` at a frame given its channel values.
    pub fn local_transform(&self, j: usize, frame: &[f64]) -> (Vec3, Quat) {
        let joint = &self.joints[j];
        let mut t = joint.offset;
        let mut q = Quat::IDENTITY;
        for (k, ch) in joint.channels.iter().enumerate() {
            let v = frame.get(joint.first_channel + k).copied().unwrap_or(0.0);
            match ch {
                Channel::XPos => t.x += v,
                Channel::YPos => t.y += v,
                Channel::ZPos => t.z += v,
                Channel::XRot | Channel::YRot | Channel::ZRot => {
                    if let Some(axis) = ch.rotation_axis() {
                        q = q * Quat::about(axis, v.to_radians());
                    }
                }
            }
        }
        (t, q)
    }

    /// Forward kinematics of one frame: world positions and rotations of every joint (file
    /// units). `pos` and `rot` are resized to the joint count.
    pub fn world_pose(&self, f: usize, pos: &mut Vec<Vec3>, rot: &mut Vec<Quat>) {
        let frame = self.frame(f);
        pos.clear();
        rot.clear();
        for j in 0..self.joints.len() {
            let (t, q) = self.local_transform(j, frame);
            match self.joints[j].parent {
                Some(p) => {
                    let (pp, pq) = (pos[p], rot[p]);
                    pos.push(pp + pq.rotate(t));
                    rot.push(pq * q);
                }
                None => {
                    pos.push(t);
                    rot.push(q);
                }
            }
        }
    }

    /// World positions with all rotation channels at zero (the "zero pose"), position
    /// channels ignored and the root at its offset.
    pub fn zero_pose_positions(&self) -> Vec<Vec3> {
        let mut pos: Vec<Vec3> = Vec::with_capacity(self.joints.len());
        for j in &self.joints {
            let p = match j.parent {
                Some(p) => pos[p] + j.offset,
                None => j.offset,
            };
            pos.push(p);
        }
        pos
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Bvh, MotionError> {
        let bytes = limits::read_file(path, limits::MAX_FILE_BYTES)
            .map_err(|e| MotionError::io(path, e))?;
        Bvh::parse(&bytes, &path.display().to_string())
    }

    /// Parses BVH text with default limits; `file` names the source in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Bvh, MotionError> {
        Bvh::parse_with_limits(bytes, file, BvhLimits::default())
    }

    /// Parses BVH text.
    pub fn parse_with_limits(
        bytes: &[u8],
        file: &str,
        limits: BvhLimits,
    ) -> Result<Bvh, MotionError> {
        Parser {
            file,
            bytes,
            pos: 0,
            line: 1,
            limits,
        }
        .parse()
    }

    /// Serialises to BVH text: tabs for indentation, six decimals for offsets and channel
    /// values (`decimals` for the frame lines), `\n` line endings.
    pub fn to_string_with(&self, decimals: usize) -> String {
        self.render(decimals, decimals, false)
    }

    /// The file text with `pos_decimals` for position channels and `rot_decimals` for
    /// rotations, trailing zeros dropped (`0.000` → `0`, `12.50` → `12.5`). The embedded
    /// starter library is written this way: about half the bytes of fixed-width numbers.
    pub fn to_string_compact(&self, pos_decimals: usize, rot_decimals: usize) -> String {
        self.render(pos_decimals, rot_decimals, true)
    }

    fn render(&self, pos_decimals: usize, rot_decimals: usize, trim: bool) -> String {
        let decimals = pos_decimals.max(rot_decimals);
        let is_pos: Vec<bool> = self
            .joints
            .iter()
            .flat_map(|j| j.channels.iter())
            .map(|c| matches!(c, Channel::XPos | Channel::YPos | Channel::ZPos))
            .collect();
        let n = self.channel_count();
        let mut s = String::with_capacity(4096 + self.frames * n * (decimals + 5));
        s.push_str("HIERARCHY\n");
        // children lists in file order
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.joints.len()];
        let mut roots = Vec::new();
        for (i, j) in self.joints.iter().enumerate() {
            match j.parent {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        for r in roots {
            self.write_joint(&mut s, r, 0, &children);
        }
        s.push_str("MOTION\n");
        let _ = writeln!(s, "Frames: {}", self.frames);
        let _ = writeln!(s, "Frame Time: {}", format_frame_time(self.frame_time));
        for f in 0..self.frames {
            let row = self.frame(f);
            for (k, v) in row.iter().enumerate() {
                if k > 0 {
                    s.push(' ');
                }
                let d = if is_pos.get(k).copied().unwrap_or(false) {
                    pos_decimals
                } else {
                    rot_decimals
                };
                push_fixed(&mut s, *v, d, trim);
            }
            s.push('\n');
        }
        s
    }

    /// Writes the file with six decimals.
    pub fn write(&self, path: &Path) -> Result<(), MotionError> {
        std::fs::write(path, self.to_string_with(6)).map_err(|e| MotionError::io(path, e))
    }

    fn write_joint(&self, s: &mut String, j: usize, depth: usize, children: &[Vec<usize>]) {
        let ind = "\t".repeat(depth);
        let joint = &self.joints[j];
        let kw = if joint.parent.is_none() {
            "ROOT"
        } else {
            "JOINT"
        };
        let _ = writeln!(s, "{ind}{kw} {}", joint.name);
        let _ = writeln!(s, "{ind}{{");
        let _ = writeln!(s, "{ind}\tOFFSET {}", fmt_vec(joint.offset));
        let _ = write!(s, "{ind}\tCHANNELS {}", joint.channels.len());
        for c in &joint.channels {
            let _ = write!(s, " {}", c.name());
        }
        s.push('\n');
        for &c in &children[j] {
            self.write_joint(s, c, depth + 1, children);
        }
        for e in &joint.end_sites {
            let _ = writeln!(s, "{ind}\tEnd Site");
            let _ = writeln!(s, "{ind}\t{{");
            let _ = writeln!(s, "{ind}\t\tOFFSET {}", fmt_vec(*e));
            let _ = writeln!(s, "{ind}\t}}");
        }
        let _ = writeln!(s, "{ind}}}");
    }
}

fn fmt_vec(v: Vec3) -> String {
    let mut s = String::new();
    push_fixed(&mut s, v.x, 6, false);
    s.push(' ');
    push_fixed(&mut s, v.y, 6, false);
    s.push(' ');
    push_fixed(&mut s, v.z, 6, false);
    s
}

/// Frame time with enough digits that `1 / frame_time` survives (e.g. `0.0333333`).
pub fn format_frame_time(t: f64) -> String {
    let s = format!("{t:.9}");
    let trimmed = s.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

/// Appends `v` with a fixed number of decimals; `-0.000` is written as `0.000`.
fn push_fixed(s: &mut String, v: f64, decimals: usize, trim: bool) {
    let start = s.len();
    let _ = write!(s, "{v:.decimals$}");
    if s.as_bytes().get(start) == Some(&b'-')
        && s.as_bytes()[start + 1..]
            .iter()
            .all(|&b| b == b'0' || b == b'.')
    {
        s.remove(start);
    }
    if trim && s[start..].contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

struct Parser<'a> {
    file: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    limits: BvhLimits,
}

/// A whitespace-separated token with its line.
struct Tok<'a> {
    text: &'a str,
    line: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, line: usize, msg: impl Into<String>) -> Result<T, MotionError> {
        Err(MotionError::Parse {
            file: self.file.to_string(),
            line,
            msg: msg.into(),
        })
    }

    /// Next token, skipping whitespace; braces are tokens of their own.
    fn next_tok(&mut self) -> Option<Tok<'a>> {
        let b = self.bytes;
        while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
            if b[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        if b[self.pos] == b'{' || b[self.pos] == b'}' {
            self.pos += 1;
        } else {
            while self.pos < b.len()
                && !b[self.pos].is_ascii_whitespace()
                && b[self.pos] != b'{'
                && b[self.pos] != b'}'
            {
                self.pos += 1;
            }
        }
        let text = std::str::from_utf8(&b[start..self.pos]).unwrap_or("\u{fffd}");
        Some(Tok {
            text,
            line: self.line,
        })
    }

    fn expect_tok(&mut self, what: &str) -> Result<Tok<'a>, MotionError> {
        match self.next_tok() {
            Some(t) => Ok(t),
            None => self.err(
                self.line,
                format!("unexpected end of file, expected {what}"),
            ),
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<Tok<'a>, MotionError> {
        let t = self.expect_tok(word)?;
        if t.text.eq_ignore_ascii_case(word) {
            Ok(t)
        } else {
            self.err(t.line, format!("expected `{word}`, found `{}`", t.text))
        }
    }

    /// The rest of the current line (a joint name may contain spaces), without a trailing
    /// `{`. Leaves `{` unconsumed.
    fn rest_of_line(&mut self) -> (String, usize) {
        let b = self.bytes;
        while self.pos < b.len() && (b[self.pos] == b' ' || b[self.pos] == b'\t') {
            self.pos += 1;
        }
        let start = self.pos;
        while self.pos < b.len() && b[self.pos] != b'\n' && b[self.pos] != b'{' {
            self.pos += 1;
        }
        let raw = String::from_utf8_lossy(&b[start..self.pos]);
        (raw.trim().to_string(), self.line)
    }

    fn number(&mut self, what: &str) -> Result<f64, MotionError> {
        let t = self.expect_tok(what)?;
        match parse_number(t.text.as_bytes()) {
            Some(v) if v.is_finite() => Ok(v),
            _ => self.err(
                t.line,
                format!("expected a finite number for {what}, found `{}`", t.text),
            ),
        }
    }

    fn offset(&mut self) -> Result<Vec3, MotionError> {
        self.expect_word("OFFSET")?;
        Ok(Vec3::new(
            self.number("OFFSET x")?,
            self.number("OFFSET y")?,
            self.number("OFFSET z")?,
        ))
    }

    fn parse(mut self) -> Result<Bvh, MotionError> {
        // tolerate a UTF-8 byte order mark
        if self.bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos = 3;
        }
        self.expect_word("HIERARCHY")?;
        let mut joints: Vec<BvhJoint> = Vec::new();
        let root = self.expect_tok("ROOT")?;
        if !root.text.eq_ignore_ascii_case("ROOT") {
            return self.err(root.line, format!("expected `ROOT`, found `{}`", root.text));
        }
        self.joint(None, &mut joints)?;
        let mut channel_total = 0usize;
        for j in &mut joints {
            j.first_channel = channel_total;
            channel_total += j.channels.len();
        }
        let t = self.expect_tok("MOTION")?;
        if t.text.eq_ignore_ascii_case("ROOT") {
            return self.err(t.line, "several ROOT hierarchies are not supported");
        }
        if !t.text.eq_ignore_ascii_case("MOTION") {
            return self.err(t.line, format!("expected `MOTION`, found `{}`", t.text));
        }
        let t = self.expect_word("Frames:")?;
        let frames_tok = self.expect_tok("frame count")?;
        let claimed: usize = frames_tok.text.parse().map_err(|_| MotionError::Parse {
            file: self.file.to_string(),
            line: frames_tok.line,
            msg: format!("invalid frame count `{}`", frames_tok.text),
        })?;
        if claimed > self.limits.max_frames {
            return self.err(
                t.line,
                format!(
                    "header claims {claimed} frames, more than the limit of {}",
                    self.limits.max_frames
                ),
            );
        }
        self.expect_word("Frame")?;
        self.expect_word("Time:")?;
        let ft_line = self.line;
        let frame_time = self.number("frame time")?;
        self.check_size(claimed, channel_total, frame_time, (t.line, ft_line))?;
        // skip to the end of the Frame Time line
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            if !self.bytes[self.pos].is_ascii_whitespace() {
                return self.err(self.line, "unexpected text after the frame time");
            }
            self.pos += 1;
        }
        let data = self.frames(claimed, channel_total)?;
        Ok(Bvh {
            joints,
            frame_time,
            frames: claimed,
            data,
        })
    }

    /// Checks the declared size against the limits: values, frame time and duration.
    /// `lines` are those of `Frames:` and `Frame Time:`.
    fn check_size(
        &self,
        claimed: usize,
        channel_total: usize,
        frame_time: f64,
        (frames_line, ft_line): (usize, usize),
    ) -> Result<(), MotionError> {
        if claimed.saturating_mul(channel_total) > self.limits.max_values {
            return self.err(
                frames_line,
                format!(
                    "{claimed} frames of {channel_total} channels are more than the limit of {} values",
                    self.limits.max_values
                ),
            );
        }
        let (lo, hi) = self.limits.frame_time;
        if !(lo..=hi).contains(&frame_time) {
            return self.err(
                ft_line,
                format!("frame time {frame_time} s is outside the supported {lo}–{hi} s"),
            );
        }
        let seconds = claimed as f64 * frame_time;
        if seconds > self.limits.max_seconds {
            return self.err(
                ft_line,
                format!(
                    "{claimed} frames of {frame_time} s last {seconds:.0} s, more than the limit of {} s",
                    self.limits.max_seconds
                ),
            );
        }
        Ok(())
    }

    /// Parses a `ROOT`/`JOINT` body after its keyword.
    fn joint(
        &mut self,
        parent: Option<usize>,
        joints: &mut Vec<BvhJoint>,
    ) -> Result<(), MotionError> {
        let (name, line) = self.rest_of_line();
        if name.is_empty() {
            return self.err(line, "joint without a name");
        }
        if joints.len() >= self.limits.max_joints {
            return self.err(line, format!("more than {} joints", self.limits.max_joints));
        }
        if joints.iter().any(|j| j.name == name) {
            return self.err(line, format!("duplicate joint name `{name}`"));
        }
        self.expect_word("{")?;
        let offset = self.offset()?;
        let ch_tok = self.expect_word("CHANNELS")?;
        let n_tok = self.expect_tok("channel count")?;
        let n: usize = match n_tok.text.parse() {
            Ok(n) if n <= 6 => n,
            _ => {
                return self.err(
                    n_tok.line,
                    format!("invalid channel count `{}` (0 to 6 allowed)", n_tok.text),
                );
            }
        };
        let mut channels = Vec::with_capacity(n);
        for _ in 0..n {
            let t = self.expect_tok("channel name")?;
            match Channel::parse(t.text) {
                Some(c) if !channels.contains(&c) => channels.push(c),
                Some(_) => {
                    return self.err(t.line, format!("channel `{}` listed twice", t.text));
                }
                None => {
                    return self.err(
                        t.line,
                        format!(
                            "`{}` is not a channel name (CHANNELS on line {} says {n})",
                            t.text, ch_tok.line
                        ),
                    );
                }
            }
        }
        let me = joints.len();
        joints.push(BvhJoint {
            name,
            parent,
            offset,
            channels,
            first_channel: 0,
            end_sites: Vec::new(),
        });
        loop {
            let t = self.expect_tok("`JOINT`, `End Site` or `}`")?;
            if t.text == "}" {
                return Ok(());
            } else if t.text.eq_ignore_ascii_case("JOINT") {
                self.joint(Some(me), joints)?;
            } else if t.text.eq_ignore_ascii_case("End") {
                self.expect_word("Site")?;
                self.expect_word("{")?;
                let e = self.offset()?;
                self.expect_word("}")?;
                joints[me].end_sites.push(e);
            } else if Channel::parse(t.text).is_some() {
                return self.err(
                    t.line,
                    format!(
                        "more channel names than the {n} declared by CHANNELS on line {} (`{}`)",
                        ch_tok.line, t.text
                    ),
                );
            } else {
                return self.err(
                    t.line,
                    format!("expected `JOINT`, `End Site` or `}}`, found `{}`", t.text),
                );
            }
        }
    }

    /// Parses the frame lines: exactly `claimed` lines of `n` numbers each.
    fn frames(&mut self, claimed: usize, n: usize) -> Result<Vec<f64>, MotionError> {
        let b = self.bytes;
        // Reserve no more than the remaining bytes could hold (2 bytes per number minimum), so
        // a lying header cannot make us allocate gigabytes.
        let remaining = b.len().saturating_sub(self.pos);
        let cap = claimed.saturating_mul(n).min(remaining / 2 + 1);
        let mut data = Vec::with_capacity(cap);
        let mut got = 0usize;
        // move past the newline that ends the Frame Time line
        if self.pos < b.len() {
            self.pos += 1;
            self.line += 1;
        }
        while self.pos < b.len() {
            let line_start = self.pos;
            let line_end = memchr_nl(b, line_start);
            let line_no = self.line;
            self.pos = (line_end + 1).min(b.len());
            self.line += 1;
            let row = &b[line_start..line_end];
            if row.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if got == claimed {
                return self.err(
                    line_no,
                    format!("more frame lines than the {claimed} the header claims"),
                );
            }
            self.frame_row(row, n, got + 1, line_no, line_end == b.len(), &mut data)?;
            got += 1;
        }
        if got != claimed {
            return self.err(
                self.line,
                format!("header claims {claimed} frames but the file has {got} (truncated?)"),
            );
        }
        Ok(data)
    }

    /// Parses one frame line onto `data`: exactly `n` finite numbers. `frame` is 1-based;
    /// `truncated` says the line is the file's last (mentioned when values are missing).
    fn frame_row(
        &self,
        row: &[u8],
        n: usize,
        frame: usize,
        line_no: usize,
        truncated: bool,
        data: &mut Vec<f64>,
    ) -> Result<(), MotionError> {
        let before = data.len();
        let mut i = 0usize;
        while i < row.len() {
            let c = row[i];
            if c == b' ' || c == b'\t' || c == b'\r' || c == b'\x0c' || c == b'\x0b' {
                i += 1;
                continue;
            }
            let s = i;
            while i < row.len() && !row[i].is_ascii_whitespace() {
                i += 1;
            }
            let tok = &row[s..i];
            match parse_number(tok) {
                Some(v) if v.is_finite() => {
                    if data.len() - before == n {
                        return self.err(
                            line_no,
                            format!(
                                "frame {frame} has more than {n} values (the hierarchy declares {n} channels)"
                            ),
                        );
                    }
                    data.push(v);
                }
                _ => {
                    return self.err(
                        line_no,
                        format!(
                            "frame {frame}, value {}: `{}` is not a finite number",
                            data.len() - before + 1,
                            String::from_utf8_lossy(tok)
                        ),
                    );
                }
            }
        }
        let count = data.len() - before;
        if count != n {
            return self.err(
                line_no,
                format!(
                    "frame {frame} has {count} values, the hierarchy declares {n} channels{}",
                    if truncated { " (file truncated?)" } else { "" }
                ),
            );
        }
        Ok(())
    }
}

fn memchr_nl(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p)
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a decimal number without allocating. Uses the exact fast path when the digits fit
/// in 15 significant digits and the decimal exponent in ±22 (then `m · 10^e` or `m / 10^-e`
/// is correctly rounded); otherwise defers to `str::parse::<f64>`. `nan`/`inf` are rejected
/// by the fast path and returned non-finite by the fallback, which callers reject.
// reason: one pass of a hand-written scanner whose state (position, mantissa, digit count,
// exponent) every step shares; split, each piece would take and return all of it.
#[allow(clippy::too_many_lines)]
pub fn parse_number(tok: &[u8]) -> Option<f64> {
    let n = tok.len();
    if n == 0 {
        return None;
    }
    let mut i = 0;
    let neg = match tok[0] {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut digits = 0u32;
    let mut exp10: i32 = 0;
    let mut any = false;
    while i < n && tok[i].is_ascii_digit() {
        any = true;
        if mant == 0 && tok[i] == b'0' {
            // leading zeros carry no significance
        } else {
            digits += 1;
            if digits <= 18 {
                mant = mant * 10 + u64::from(tok[i] - b'0');
            } else {
                exp10 += 1;
            }
        }
        i += 1;
    }
    if i < n && tok[i] == b'.' {
        i += 1;
        while i < n && tok[i].is_ascii_digit() {
            any = true;
            if mant == 0 && tok[i] == b'0' {
                exp10 -= 1;
            } else {
                digits += 1;
                if digits <= 18 {
                    mant = mant * 10 + u64::from(tok[i] - b'0');
                    exp10 -= 1;
                }
            }
            i += 1;
        }
    }
    if !any {
        return slow_parse(tok);
    }
    if i < n && (tok[i] == b'e' || tok[i] == b'E') {
        i += 1;
        let mut eneg = false;
        if i < n && (tok[i] == b'-' || tok[i] == b'+') {
            eneg = tok[i] == b'-';
            i += 1;
        }
        let mut e: i32 = 0;
        let mut edigits = false;
        while i < n && tok[i].is_ascii_digit() {
            edigits = true;
            e = e
                .saturating_mul(10)
                .saturating_add(i32::from(tok[i] - b'0'));
            i += 1;
        }
        if !edigits {
            return None;
        }
        exp10 = exp10.saturating_add(if eneg { -e } else { e });
    }
    if i != n {
        return None;
    }
    if mant == 0 {
        return Some(if neg { -0.0 } else { 0.0 });
    }
    if digits <= 15 && (-22..=22).contains(&exp10) {
        let m = mant as f64;
        let v = if exp10 >= 0 {
            m * POW10[exp10 as usize]
        } else {
            m / POW10[(-exp10) as usize]
        };
        return Some(if neg { -v } else { v });
    }
    slow_parse(tok)
}

fn slow_parse(tok: &[u8]) -> Option<f64> {
    std::str::from_utf8(tok).ok()?.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n\tJOINT Leg\n\t{\n\t\tOFFSET 0 -1.5 0\n\t\tCHANNELS 3 Xrotation Yrotation Zrotation\n\t\tEnd Site\n\t\t{\n\t\t\tOFFSET 0 -1 0\n\t\t}\n\t}\n}\nMOTION\nFrames: 2\nFrame Time: 0.033333\n1 2 3 0 0 0 90 0 0\n-1 2.5 3 10 20 30 0 0 -45\n";

    #[test]
    fn parses_numbers_exactly() {
        for s in [
            "0",
            "-0.000000",
            "1.5",
            "-103.167999",
            "0.008333",
            "1e3",
            "-2.5E-2",
            "12345678.123456",
            ".5",
            "7.",
            "+4.25",
            "123456789012345678901234",
        ] {
            let expect: f64 = s.parse().unwrap_or(0.0);
            assert_eq!(parse_number(s.as_bytes()), Some(expect), "{s}");
        }
        for s in ["", "-", "1.2.3", "abc", "1e", "--1", "1,5"] {
            assert_eq!(parse_number(s.as_bytes()), None, "{s}");
        }
        assert!(parse_number(b"nan").is_none_or(|v| !v.is_finite()));
        assert!(parse_number(b"inf").is_none_or(|v| !v.is_finite()));
    }

    #[test]
    fn parses_small_file() {
        let b = Bvh::parse(SMALL.as_bytes(), "small.bvh").unwrap();
        assert_eq!(b.joints.len(), 2);
        assert_eq!(b.channel_count(), 9);
        assert_eq!(b.frames, 2);
        assert_eq!(
            b.joints[1].rotation_order(),
            vec![Axis::X, Axis::Y, Axis::Z]
        );
        assert_eq!(b.joints[1].end_sites, vec![Vec3::new(0.0, -1.0, 0.0)]);
        assert_eq!(b.frame(1)[1], 2.5);
        assert!((b.fps() - 30.0).abs() < 0.01);
        // leg rotated 90° about X: the end site (0,-1,0) goes to (0,0,-1)
        let mut pos = Vec::new();
        let mut rot = Vec::new();
        b.world_pose(0, &mut pos, &mut rot);
        assert_eq!(pos[0], Vec3::new(1.0, 2.0, 3.0));
        let tip = pos[1] + rot[1].rotate(b.joints[1].end_sites[0]);
        assert!((tip - Vec3::new(1.0, 0.5, 2.0)).length() < 1e-9, "{tip:?}");
    }

    #[test]
    fn round_trip_is_exact_at_six_decimals() {
        let b = Bvh::parse(SMALL.as_bytes(), "small.bvh").unwrap();
        let text = b.to_string_with(6);
        let c = Bvh::parse(text.as_bytes(), "again.bvh").unwrap();
        assert_eq!(b, c);
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = SMALL.replace("-1 2.5 3 10 20 30 0 0 -45", "-1 2.5 3 10 20 30 0 0");
        let e = Bvh::parse(bad.as_bytes(), "short.bvh")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("short.bvh:20:"), "{e}");
        assert!(e.contains("8 values"), "{e}");
        let bad = SMALL.replace("2.5", "nan");
        let e = Bvh::parse(bad.as_bytes(), "nan.bvh")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("nan.bvh:20:") && e.contains("nan"), "{e}");
        let bad = SMALL.replace("Frames: 2", "Frames: 3");
        let e = Bvh::parse(bad.as_bytes(), "few.bvh")
            .unwrap_err()
            .to_string();
        assert!(e.contains("claims 3 frames but the file has 2"), "{e}");
        let bad = SMALL.replace("CHANNELS 3 Xrotation", "CHANNELS 4 Xrotation");
        let e = Bvh::parse(bad.as_bytes(), "ch.bvh")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ch.bvh:10:"), "{e}");
        let bad = SMALL.replace("Frames: 2", "Frames: 99999999999");
        let e = Bvh::parse(bad.as_bytes(), "huge.bvh")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limit"), "{e}");
    }

    #[test]
    fn frame_time_formatting_keeps_precision() {
        assert_eq!(format_frame_time(1.0 / 30.0), "0.033333333");
        assert_eq!(format_frame_time(0.008333), "0.008333");
        assert_eq!(format_frame_time(0.5), "0.5");
    }
}
