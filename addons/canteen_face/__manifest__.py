{
    "name": "Canteen Face",
    "summary": "Face photos, quality checks, dlib embeddings, device sync and identification",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card"],
    "external_dependencies": {"python": ["dlib", "face_recognition_models", "numpy", "PIL"]},
    "data": [
        "security/canteen_face_groups.xml",
        "views/canteen_face_menus.xml",
    ],
}
