from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import face_engine

DEFAULTS = face_engine.Thresholds()


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_face_min_eye_distance = fields.Integer(
        string="Minimum Face Size (px)",
        default=round(DEFAULTS.min_eye_distance),
        help="Fewest pixels between the outer corners of the eyes in an enrolment photo.",
    )
    canteen_face_min_sharpness = fields.Float(
        string="Minimum Sharpness",
        default=DEFAULTS.min_sharpness,
        help="Lowest variance of the Laplacian of the face (scaled to 160 px wide); below it the "
        "photo is refused as blurred. Sharp portraits measure 130 to 350.",
    )
    canteen_face_min_brightness = fields.Integer(
        string="Minimum Brightness",
        default=round(DEFAULTS.min_brightness),
        help="Lowest mean grey level (0-255) of the face; below it the photo is too dark.",
    )
    canteen_face_max_brightness = fields.Integer(
        string="Maximum Brightness",
        default=round(DEFAULTS.max_brightness),
        help="Highest mean grey level (0-255) of the face; above it the photo is too bright.",
    )
    canteen_face_max_yaw = fields.Integer(
        string="Maximum Head Turn (°)",
        default=round(DEFAULTS.max_yaw),
        help="How far the head may be turned left or right, estimated from the landmarks.",
    )
    canteen_face_max_pitch = fields.Integer(
        string="Maximum Head Tilt (°)",
        default=round(DEFAULTS.max_pitch),
        help="How far the head may be tilted up or down, estimated from the landmarks.",
    )
    canteen_face_min_resolution = fields.Integer(
        string="Minimum Photo Resolution (px)",
        default=DEFAULTS.min_resolution,
        help="Fewest pixels of the shorter side of an enrolment photo.",
    )
    canteen_face_match_threshold = fields.Float(
        string="Face Match Distance",
        default=0.5,
        digits=(3, 3),
        help="Largest distance between normalised embeddings (0 to 2) for a face to match. "
        "Photos of one person measure 0.15 to 0.35, different people 0.55 and more.",
    )
    canteen_face_match_margin = fields.Float(
        string="Face Match Margin",
        default=0.05,
        digits=(3, 3),
        help="How much further the second-best person must be than the best for a match; "
        "closer than this the answer is ambiguous and nobody is matched.",
    )
    canteen_face_retention_days = fields.Integer(
        string="Face Retention (days)",
        default=30,
        help="Days after a face is replaced, withdrawn or refused before its photo and embedding are erased.",
    )
    canteen_face_device_width = fields.Integer(
        string="Device Photo Width (px)", default=480, help="Width of the JPEG sent to face terminals."
    )
    canteen_face_device_height = fields.Integer(
        string="Device Photo Height (px)", default=640, help="Height of the JPEG sent to face terminals."
    )
    canteen_face_device_max_kb = fields.Integer(
        string="Device Photo Limit (KB)",
        default=50,
        help="Largest size of the JPEG sent to face terminals (EastRiver terminals: 50 KB).",
    )

    @api.constrains(
        "canteen_face_min_eye_distance",
        "canteen_face_min_resolution",
        "canteen_face_match_threshold",
        "canteen_face_match_margin",
        "canteen_face_retention_days",
        "canteen_face_device_width",
        "canteen_face_device_height",
        "canteen_face_device_max_kb",
    )
    def _check_canteen_face_settings(self):
        for company in self:
            if not 0 < company.canteen_face_match_threshold <= 2 or company.canteen_face_match_margin < 0:
                raise ValidationError(
                    self.env._("The face match distance is between 0 and 2 and the margin not negative.")
                )
            if (
                min(
                    company.canteen_face_min_eye_distance,
                    company.canteen_face_min_resolution,
                    company.canteen_face_device_width,
                    company.canteen_face_device_height,
                    company.canteen_face_device_max_kb,
                )
                <= 0
                or company.canteen_face_retention_days < 0
            ):
                raise ValidationError(
                    self.env._("Face sizes, resolutions and limits are positive, the retention not negative.")
                )

    def _canteen_face_thresholds(self):
        self.ensure_one()
        return face_engine.Thresholds(
            min_eye_distance=self.canteen_face_min_eye_distance,
            min_sharpness=self.canteen_face_min_sharpness,
            min_brightness=self.canteen_face_min_brightness,
            max_brightness=self.canteen_face_max_brightness,
            max_yaw=self.canteen_face_max_yaw,
            max_pitch=self.canteen_face_max_pitch,
            min_resolution=self.canteen_face_min_resolution,
        )
