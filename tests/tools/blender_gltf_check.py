# Checks an exported .glb in Blender's glTF importer (not run by cargo test):
#   blender -b --python tests/tools/blender_gltf_check.py -- dance.glb
# Prints RESULT {armatures, bones, meshes, skinning, actions, frame range, hips motion}.
import numpy
if not hasattr(numpy, "bool"): numpy.bool = bool  # Debian: blender 3.4 with numpy 1.24
import bpy, sys, json
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[-1])
arms = [o for o in bpy.data.objects if o.type == 'ARMATURE']
meshes = [o for o in bpy.data.objects if o.type == 'MESH']
acts = list(bpy.data.actions)
a = arms[0]
out = {"armatures": len(arms), "bones": len(a.data.bones), "meshes": len(meshes),
       "mesh_skinned_to_armature": any(m.find_armature() == a for m in meshes),
       "actions": len(acts), "frame_range": list(acts[0].frame_range) if acts else None,
       "fps": bpy.context.scene.render.fps, "fcurves": len(acts[0].fcurves) if acts else 0}
# pose at the middle: the hips move
sc = bpy.context.scene
sc.frame_set(1); h1 = a.pose.bones[0].matrix.translation.copy()
sc.frame_set(int(acts[0].frame_range[1] // 2)); h2 = a.pose.bones[0].matrix.translation.copy()
out["hips_moved_m"] = (h2 - h1).length
print("RESULT", json.dumps(out))
