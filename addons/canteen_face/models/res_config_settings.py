from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    canteen_face_min_eye_distance = fields.Integer(
        related="company_id.canteen_face_min_eye_distance", readonly=False
    )
    canteen_face_min_sharpness = fields.Float(related="company_id.canteen_face_min_sharpness", readonly=False)
    canteen_face_min_brightness = fields.Integer(
        related="company_id.canteen_face_min_brightness", readonly=False
    )
    canteen_face_max_brightness = fields.Integer(
        related="company_id.canteen_face_max_brightness", readonly=False
    )
    canteen_face_max_yaw = fields.Integer(related="company_id.canteen_face_max_yaw", readonly=False)
    canteen_face_max_pitch = fields.Integer(related="company_id.canteen_face_max_pitch", readonly=False)
    canteen_face_min_resolution = fields.Integer(
        related="company_id.canteen_face_min_resolution", readonly=False
    )
    canteen_face_match_threshold = fields.Float(
        related="company_id.canteen_face_match_threshold", readonly=False
    )
    canteen_face_match_margin = fields.Float(related="company_id.canteen_face_match_margin", readonly=False)
    canteen_face_retention_days = fields.Integer(
        related="company_id.canteen_face_retention_days", readonly=False
    )
    canteen_face_device_width = fields.Integer(related="company_id.canteen_face_device_width", readonly=False)
    canteen_face_device_height = fields.Integer(
        related="company_id.canteen_face_device_height", readonly=False
    )
    canteen_face_device_max_kb = fields.Integer(
        related="company_id.canteen_face_device_max_kb", readonly=False
    )
