{
    "name": "Canteen DingTalk",
    "summary": "DingTalk organisation sync and balance-change notifications",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card"],
    "data": [
        "security/canteen_dingtalk_groups.xml",
        "views/res_config_settings_views.xml",
    ],
}
