/** @odoo-module **/

import { registry } from "@web/core/registry";

// The day to book, from the start URL; kept for the pages after the redirects.
function day() {
    const fromUrl = new URLSearchParams(window.location.search).get("day");
    if (fromUrl) {
        window.sessionStorage.setItem("canteen_tour_day", fromUrl);
    }
    return fromUrl || window.sessionStorage.getItem("canteen_tour_day");
}

function meal(kind) {
    return `.o_canteen_day[data-date="${day()}"] .o_canteen_meal[data-meal="${kind}"]`;
}

registry.category("web_tour.tours").add("canteen_cardholder_tour", {
    steps: () => [
        {
            content: "Book the whole day",
            trigger: `.o_canteen_day[data-date="${day()}"] .o_canteen_book_day`,
            run: "click",
        },
        {
            content: "Every meal of the day is booked",
            trigger: `${meal("breakfast")} .o_canteen_booked`,
        },
        {
            content: "Cancel lunch",
            trigger: `${meal("lunch")} .o_canteen_cancel`,
            run: "click",
        },
        {
            content: "Lunch can be booked again, dinner stays booked",
            trigger: `${meal("lunch")} .o_canteen_book`,
        },
        {
            trigger: `${meal("dinner")} .o_canteen_booked`,
        },
        {
            content: "Report the card lost",
            trigger: ".o_canteen_report_lost",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: "#o_canteen_lost_modal #o_canteen_lost_confirm",
            run: "click",
        },
        {
            trigger: "#o_canteen_lost_modal .o_canteen_confirm_lost",
            run: "click",
        },
        {
            content: "The card is blocked",
            trigger: ".o_canteen_portal:not(:has(.o_canteen_report_lost)) .o_canteen_flash.alert-success",
        },
    ],
});

registry.category("web_tour.tours").add("canteen_manager_tour", {
    steps: () => [
        {
            content: "Publish the draft dinner menu",
            trigger: '.o_canteen_manage_meal[data-meal="dinner"] .o_canteen_publish',
            run: "click",
        },
        {
            content: "The dinner menu is published",
            trigger: '.o_canteen_manage_meal[data-meal="dinner"] .o_canteen_unpublish',
        },
        {
            content: "Booked versus served of lunch",
            trigger: '.o_canteen_manage_meal[data-meal="lunch"] .o_canteen_booked_count:contains("2")',
        },
        {
            trigger: '.o_canteen_manage_meal[data-meal="lunch"] .o_canteen_served_count:contains("1")',
        },
        {
            trigger: '.o_canteen_manage_meal[data-meal="lunch"] .o_canteen_walk_in_count:contains("1")',
        },
    ],
});
