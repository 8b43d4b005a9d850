// Copies the preview's offscreen image into the host's render pass (egui's), which has no
// depth buffer. The offscreen texture is sRGB, so sampling yields linear colour.

@group(0) @binding(0) var image: texture_2d<f32>;
@group(0) @binding(1) var image_sampler: sampler;

struct BlitOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One triangle covering the viewport (which the host sets to the preview's rectangle);
// uv (0,0) is the image's top-left.
@vertex
fn vs_blit(@builtin(vertex_index) i: u32) -> BlitOut {
    let t = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    var out: BlitOut;
    out.pos = vec4<f32>(t * 2.0 - 1.0, 0.0, 1.0);
    out.uv = vec2<f32>(t.x, 1.0 - t.y);
    return out;
}

// For sRGB output formats: the hardware encodes on write.
@fragment
fn fs_blit(in: BlitOut) -> @location(0) vec4<f32> {
    return vec4<f32>(textureSample(image, image_sampler, in.uv).rgb, 1.0);
}

fn encode_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3<f32>(0.0031308));
}

// For linear (non-sRGB) output formats, such as egui-wgpu's usual framebuffer: encode here so
// the bytes match what an sRGB target would hold.
@fragment
fn fs_blit_encode(in: BlitOut) -> @location(0) vec4<f32> {
    let c = clamp(textureSample(image, image_sampler, in.uv).rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    return vec4<f32>(encode_srgb(c), 1.0);
}
