// Validates an exported .glb with the Khronos glTF Validator (not run by cargo test):
//   npm install gltf-validator && node tests/tools/khronos_validate.js dance.glb
const v = require('gltf-validator'); const fs = require('fs');
const data = new Uint8Array(fs.readFileSync(process.argv[2]));
v.validateBytes(data).then(r => { console.log(JSON.stringify({version: r.validatorVersion, issues: {errors: r.issues.numErrors, warnings: r.issues.numWarnings, infos: r.issues.numInfos, hints: r.issues.numHints}, messages: r.issues.messages.slice(0,10), info: r.info}, null, 1)); }).catch(e => console.error('fail', e));
