"""Floor plans, community layouts, room designs, their checks, bills of materials and scenes."""
