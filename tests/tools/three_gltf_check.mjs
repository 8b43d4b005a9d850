// Loads an exported .glb with three.js's GLTFLoader and plays its clip (not run by cargo test):
//   npm install three && node tests/tools/three_gltf_check.mjs dance.glb
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import fs from 'fs';
const buf = fs.readFileSync(process.argv[2]);
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
new GLTFLoader().parse(ab, '', (g) => {
  let bones = 0, skinned = 0;
  g.scene.traverse(o => { if (o.isBone) bones++; if (o.isSkinnedMesh) skinned++; });
  const clip = g.animations[0];
  const mixer = new THREE.AnimationMixer(g.scene);
  mixer.clipAction(clip).play();
  mixer.update(clip.duration * 0.5);
  console.log(JSON.stringify({bones, skinnedMeshes: skinned, animations: g.animations.length, duration: clip.duration, tracks: clip.tracks.length, keys: clip.tracks[0].times.length}));
}, (e) => { console.error('ERROR', e); process.exit(1); });
