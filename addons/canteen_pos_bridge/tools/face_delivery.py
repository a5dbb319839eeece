"""Face commands as a terminal receives them: a face.upsert is queued with the face's record id
(`face_ref`, see canteen_face's canteen.face.sync) and gets the device JPEG and the embedding
when it is delivered, so a 50 KB photo is stored once per face, not once per terminal."""

# The device photo (a bytea column holding base64 text) and the embedding (base64 text) of
# faces, by id; a face erased since (retention) has neither.
FACE_FILES = """
    SELECT id, convert_from(device_photo, 'UTF8'), embedding FROM canteen_face WHERE id = ANY(%s::int[])
"""


def fill(tx, commands):
    """Add "photo" (base64 JPEG) and "embedding" (base64 of 128 little-endian float32) to the
    face.upsert commands of a delivery, in place; one query for all of them."""
    wanted = [
        command["payload"]
        for command in commands
        if command["type"] == "face.upsert"
        and isinstance(command["payload"], dict)
        and command["payload"].get("face_ref")
    ]
    if not wanted:
        return commands
    rows = tx.execute((FACE_FILES, [sorted({payload["face_ref"] for payload in wanted})])).fetchall()
    files = {face_id: (photo, embedding) for face_id, photo, embedding in rows}
    for payload in wanted:
        photo, embedding = files.get(payload.pop("face_ref"), (None, None))
        payload.update(photo=photo, embedding=embedding)
    return commands
