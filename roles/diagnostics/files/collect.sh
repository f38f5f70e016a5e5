#!/bin/sh
# Print one host's state for a failure report: failed units, journals of the
# OpenStack units, their configs, and OVS/OVN/libvirt state. Values that look
# like secrets are masked here; the caller also masks every known secret.
lines="${1:-150}"
section() { printf '\n===== %s =====\n' "$*"; }
mask() {
    sed -E \
        -e 's#(://[^:/@[:space:]]+:)[^@[:space:]]+@#\1****@#g' \
        -e 's#^([[:space:]]*[A-Za-z0-9_.-]*(password|secret|passwd|_key|token)[A-Za-z0-9_.-]*[[:space:]]*[=:][[:space:]]*).+#\1****#I'
}
units_pattern='^(apache2|mariadb|mysql|rabbitmq-server|memcached|keystone|glance|placement|nova|neutron|ovn|openvswitch|ovs-|libvirt|virtqemud)'

section "host $(hostname) at $(date -u +%FT%TZ)"
systemctl is-system-running 2>&1
section "failed units"
systemctl list-units --state=failed --no-legend --plain 2>&1
section "OpenStack units"
systemctl list-units --all --no-legend --plain 2>/dev/null | awk '{print $1, $3, $4}' | grep -E "$units_pattern"

for unit in $(systemctl list-units --all --no-legend --plain 2>/dev/null | awk '{print $1}' | grep -E "$units_pattern"); do
    state=$(systemctl show -p ActiveState --value "$unit" 2>/dev/null)
    restarts=$(systemctl show -p NRestarts --value "$unit" 2>/dev/null)
    if [ "$state" != active ] || [ "${restarts:-0}" -gt 0 ]; then n=$lines; else n=20; fi
    section "journal of $unit ($state, ${restarts:-0} restarts, last $n lines)"
    journalctl -u "$unit" -n "$n" --no-pager -o short-iso 2>&1 | mask
done

for log in /var/log/apache2/*error.log /var/log/nova/*.log /var/log/neutron/*.log /var/log/glance/*.log /var/log/keystone/*.log /var/log/placement/*.log; do
    [ -s "$log" ] || continue
    if grep -qE 'ERROR|CRITICAL|Traceback' "$log"; then
        section "errors in $log (last 40)"
        grep -E 'ERROR|CRITICAL|Traceback' "$log" | tail -n 40 | mask
    fi
done

for conf in /etc/keystone/keystone.conf /etc/glance/glance-api.conf /etc/placement/placement.conf \
            /etc/nova/nova.conf /etc/nova/nova-compute.conf /etc/neutron/neutron.conf \
            /etc/neutron/plugins/ml2/ml2_conf.ini /etc/neutron/neutron_ovn_metadata_agent.ini \
            /etc/apache2/sites-enabled/*.conf; do
    [ -f "$conf" ] || continue
    section "config $conf"
    grep -vE '^[[:space:]]*(#|$)' "$conf" | mask
done

if command -v ovs-vsctl >/dev/null 2>&1; then
    section "ovs-vsctl show"; ovs-vsctl --timeout=5 show 2>&1
    section "Open_vSwitch external_ids / other_config"
    ovs-vsctl --timeout=5 get Open_vSwitch . external_ids other_config 2>&1
    section "ovs routes"; ovs-appctl --timeout=5 ovs/route/show 2>&1 | head -n 40
fi
if command -v ovn-nbctl >/dev/null 2>&1 && ovn-nbctl --timeout=5 show >/dev/null 2>&1; then
    section "ovn-nbctl show"; ovn-nbctl --timeout=5 show 2>&1
    section "ovn-sbctl show"; ovn-sbctl --timeout=5 show 2>&1
fi
if command -v virsh >/dev/null 2>&1; then
    section "virsh list --all"; virsh list --all 2>&1
fi
section "network namespaces"; ip netns list 2>&1
section "addresses"; ip -br addr 2>&1
if [ -f /root/.config/openstack/clouds.yaml ] && command -v openstack >/dev/null 2>&1; then
    for cmd in "compute service list" "hypervisor list --long" "network agent list" \
               "server list --all-projects --long" "port list --long" "endpoint list"; do
        section "openstack $cmd"
        timeout 60 openstack --os-cloud "${OS_CLOUD_NAME:-aptstack}" $cmd 2>&1 | mask
    done
fi
