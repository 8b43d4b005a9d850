# Checks an exported .glb in Godot 3's glTF importer (not run by cargo test; Debian: godot3):
#   mkdir p && cp dance.glb p/dance.glb && cp tests/tools/godot_gltf_check.gd p/
#   printf 'config_version=4\n[rendering]\nquality/driver/driver_name="GLES2"\n' > p/project.godot
#   godot3 --editor --quit --path p          # imports dance.glb (needs a display: Xvfb)
#   godot3 --no-window -s godot_gltf_check.gd --path p
# Prints RESULT {bones, mesh_skinned, animations, length_s, tracks, keys, hips motion}.
extends SceneTree
func find(n, cls):
	if n.is_class(cls):
		return n
	for c in n.get_children():
		var r = find(c, cls)
		if r != null:
			return r
	return null
func _init():
	var ps = load("res://dance.glb")
	if ps == null:
		print("RESULT {\"error\": \"load failed\"}")
		quit(1)
		return
	var root = ps.instance()
	var sk = find(root, "Skeleton")
	var mi = find(root, "MeshInstance")
	var ap = find(root, "AnimationPlayer")
	var out = {}
	out["bones"] = sk.get_bone_count() if sk else -1
	out["mesh_skinned"] = mi != null and mi.skin != null
	var names = ap.get_animation_list() if ap else []
	out["animations"] = names.size()
	if names.size() > 0:
		var a = ap.get_animation(names[0])
		out["length_s"] = a.length
		out["tracks"] = a.get_track_count()
		var keys = 0
		for t in range(a.get_track_count()):
			keys = max(keys, a.track_get_key_count(t))
		out["max_keys"] = keys
		var hips = -1
		for t in range(a.get_track_count()):
			if str(a.track_get_path(t)).ends_with(":" + sk.get_bone_name(0)):
				hips = t
		out["root_bone"] = sk.get_bone_name(0)
		if hips >= 0 and a.track_get_key_count(hips) > 2:
			var n = a.track_get_key_count(hips)
			var v0 = a.track_get_key_value(hips, 0)
			var v1 = a.track_get_key_value(hips, n / 2)
			out["hips_moved_m"] = v0["location"].distance_to(v1["location"])
			out["hips_keys"] = n
	print("RESULT ", to_json(out))
	quit(0)
