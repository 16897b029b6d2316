/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Asynchronous calls to systemd's manager, built from planner data. */

#include <stdarg.h>

#include "systemd-client.h"

int unit_spec_append(sd_bus_message *m, const UnitSpec *spec) {
        int r;

        for (size_t i = 0; i < spec->n_properties; i++) {
                const UnitProperty *p = &spec->properties[i];
                const char *sig = unit_property_signature(p->type);

                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", p->name);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'v', sig);
                if (r < 0)
                        return r;

                switch (p->type) {
                case UNIT_PROPERTY_STRING:
                        r = sd_bus_message_append(m, "s", p->s);
                        break;
                case UNIT_PROPERTY_BOOL:
                        r = sd_bus_message_append(m, "b", (int) p->b);
                        break;
                case UNIT_PROPERTY_U32:
                        r = sd_bus_message_append(m, "u", (uint32_t) p->t);
                        break;
                case UNIT_PROPERTY_U64:
                        r = sd_bus_message_append(m, "t", p->t);
                        break;
                case UNIT_PROPERTY_STRV:
                        r = sd_bus_message_append_strv(m, p->strv);
                        break;
                case UNIT_PROPERTY_EXEC:
                        r = sd_bus_message_open_container(m, 'a', "(sasb)");
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'r', "sasb");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", p->s);
                        if (r >= 0)
                                r = sd_bus_message_append_strv(m, p->strv);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "b", 0);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case UNIT_PROPERTY_CONDITIONS:
                        r = sd_bus_message_open_container(m, 'a', "(sbbs)");
                        for (char **c = p->strv; r >= 0 && c && c[0] && c[1]; c += 2) {
                                const char *v = c[1];
                                int trigger = 0, negate = 0;

                                /* The unit-file syntax: "|" makes a triggering condition, "!" negates. */
                                if (*v == '|') {
                                        trigger = 1;
                                        v++;
                                }
                                if (*v == '!') {
                                        negate = 1;
                                        v++;
                                }
                                r = sd_bus_message_append(m, "(sbbs)", c[0], trigger, negate, v);
                        }
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case UNIT_PROPERTY_LISTEN:
                        r = sd_bus_message_open_container(m, 'a', "(ss)");
                        for (char **c = p->strv; r >= 0 && c && c[0] && c[1]; c += 2)
                                r = sd_bus_message_append(m, "(ss)", c[0], c[1]);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;

                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int call_async(sd_bus *bus, sd_bus_message *m, const SystemdCall *c) {
        sd_bus_slot *slot = NULL;
        int r;

        r = sd_bus_call_async(bus, &slot, m, c->callback, c->userdata, 0);
        if (r < 0) {
                if (c->destroy)
                        c->destroy(c->userdata);
                return r;
        }
        /* The slot lives as long as the call; it frees the userdata when it goes. */
        (void) sd_bus_slot_set_destroy_callback(slot, c->destroy);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 0;
}

static int new_manager_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, method);
}

int systemd_start_transient_unit(sd_bus *bus, const UnitSpec *main, const UnitSpec *aux, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_manager_call(bus, "StartTransientUnit", &m);
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(m, "ss", main->name, "fail");
        if (r < 0)
                goto fail;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                goto fail;
        r = unit_spec_append(m, main);
        if (r < 0)
                goto fail;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto fail;

        r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r < 0)
                goto fail;
        if (aux) {
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
                if (r < 0)
                        goto fail;
                r = sd_bus_message_append(m, "s", aux->name);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r < 0)
                        goto fail;
                r = unit_spec_append(m, aux);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto fail;

        return call_async(bus, m, c);
fail:
        if (c->destroy)
                c->destroy(c->userdata);
        return r;
}

int systemd_set_unit_properties(sd_bus *bus, const UnitSpec *spec, int runtime, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_manager_call(bus, "SetUnitProperties", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", spec->name, runtime);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = unit_spec_append(m, spec);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                if (c->destroy)
                        c->destroy(c->userdata);
                return r;
        }
        return call_async(bus, m, c);
}

int systemd_manager_call(sd_bus *bus, const char *method, const SystemdCall *c, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = new_manager_call(bus, method, &m);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0) {
                if (c->destroy)
                        c->destroy(c->userdata);
                return r;
        }
        return call_async(bus, m, c);
}

int systemd_unit_path(const char *unit, char **ret) {
        return sd_bus_path_encode(SYSTEMD_PATH "/unit", unit, ret);
}

int systemd_get_unit_properties(sd_bus *bus, const char *unit, const char *interface, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = systemd_unit_path(unit, &path);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_SERVICE, path,
                                                   "org.freedesktop.DBus.Properties", "GetAll");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", interface);
        if (r < 0) {
                if (c->destroy)
                        c->destroy(c->userdata);
                return r;
        }
        return call_async(bus, m, c);
}

int systemd_parse_version(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || v > 100000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}
