#!/bin/sh
# Print one host's state for a failure report: failed units, journals of the
# OpenStack units, their configs, and OVS/OVN/libvirt state. Values that look
# like secrets are masked here; the caller also masks every known secret.
lines="${1:-150}"
# Service log errors older than this (Unix time) are left out; 0 keeps all of them.
since_epoch="${2:-0}"
since=
if [ "$since_epoch" -gt 0 ] 2>/dev/null; then
    since=$(date -d "@$since_epoch" '+%F %T')
fi
section() { printf '\n===== %s =====\n' "$*"; }
mask() {
    sed -E \
        -e 's#(://[^:/@[:space:]]+:)[^@[:space:]]+@#\1****@#g' \
        -e 's#^([[:space:]]*([A-Za-z0-9_.-]*(password|secret|passwd|token)[A-Za-z0-9_.-]*|[A-Za-z0-9_.-]*_key(_[A-Za-z0-9_.-]*)?)[[:space:]]*[=:][[:space:]]*).+#\1****#I'
}
units_pattern='^(apache2|mariadb|mysql|rabbitmq-server|memcached|keystone|glance|placement|nova|neutron|heat|cinder|ceph|ovn|openvswitch|ovs-|libvirt|virtqemud)'

section "host $(hostname) at $(date -u +%FT%TZ)"
systemctl is-system-running 2>&1
section "failed units"
systemctl list-units --state=failed --no-legend --plain 2>&1
section "OpenStack units"
systemctl list-units --all --no-legend --plain 2>/dev/null | awk '{print $1, $3, $4}' | grep -E "$units_pattern"

for unit in $(systemctl list-units --all --no-legend --plain 2>/dev/null | awk '{print $1}' | grep -E "$units_pattern"); do
    # Masked units are down on purpose (a package's server that aptstack replaces).
    [ "$(systemctl show -p UnitFileState --value "$unit" 2>/dev/null)" = masked ] && continue
    state=$(systemctl show -p ActiveState --value "$unit" 2>/dev/null)
    restarts=$(systemctl show -p NRestarts --value "$unit" 2>/dev/null)
    if [ "$state" != active ] || [ "${restarts:-0}" -gt 0 ]; then n=$lines; else n=20; fi
    section "journal of $unit ($state, ${restarts:-0} restarts, last $n lines)"
    journalctl -u "$unit" -n "$n" --no-pager -o short-iso 2>&1 | mask
done

for log in /var/log/apache2/*error.log /var/log/nova/*.log /var/log/neutron/*.log /var/log/glance/*.log /var/log/keystone/*.log /var/log/placement/*.log /var/log/heat/*.log /var/log/cinder/*.log; do
    [ -s "$log" ] || continue
    # OpenStack logs start with the local time as "YYYY-MM-DD HH:MM:SS", which sorts as text.
    errors=$(grep -E 'ERROR|CRITICAL|Traceback' "$log" | awk -v since="$since" 'since == "" || substr($0, 1, 19) >= since' | tail -n 40)
    if [ -n "$errors" ]; then
        section "errors in $log${since:+ since $since} (last 40)"
        printf '%s\n' "$errors" | mask
    fi
done

for conf in /etc/keystone/keystone.conf /etc/glance/glance-api.conf /etc/placement/placement.conf \
            /etc/nova/nova.conf /etc/nova/nova-compute.conf /etc/neutron/neutron.conf \
            /etc/neutron/plugins/ml2/ml2_conf.ini /etc/neutron/neutron_ovn_metadata_agent.ini /etc/heat/heat.conf \
            /etc/cinder/cinder.conf /etc/ceph/ceph.conf \
            /etc/openstack-dashboard/local_settings.py \
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
    # Guest ports: whether OVN bound them, and where their packets stopped
    # (kernel tap counters vs what OVS received and sent).
    section "guest ports (OVS interfaces with an iface-id, kernel counters)"
    for port in $(ovs-vsctl --timeout=5 --bare --columns=name find Interface type='""' 'external_ids:iface-id!=""' 2>/dev/null); do
        ovs-vsctl --timeout=5 --columns=name,ofport,error,link_state,statistics,external_ids list Interface "$port" 2>&1
        ip -s link show dev "$port" 2>&1
        echo
    done
    section "ovs-ofctl dump-ports br-int"; ovs-ofctl --timeout=5 dump-ports br-int 2>&1 | head -n 60
    section "datapath flows (ovs-appctl dpctl/dump-flows, first 60)"
    ovs-appctl --timeout=5 dpctl/dump-flows 2>&1 | head -n 60
    section "ovs-vswitchd log (last 30)"; tail -n 30 /var/log/openvswitch/ovs-vswitchd.log 2>&1
fi
if [ -s /var/log/ovn/ovn-controller.log ]; then
    section "ovn-controller log (last 40)"; tail -n 40 /var/log/ovn/ovn-controller.log 2>&1
fi
if command -v ovn-nbctl >/dev/null 2>&1 && ovn-nbctl --timeout=5 show >/dev/null 2>&1; then
    section "ovn-nbctl show"; ovn-nbctl --timeout=5 show 2>&1
    section "ovn-sbctl show"; ovn-sbctl --timeout=5 show 2>&1
    # A port without dhcpv4_options gets no DHCP answer from OVN, and ovn-controller logs nothing.
    section "OVN switch ports and their DHCP options"
    ovn-nbctl --timeout=5 --columns=name,type,addresses,dhcpv4_options,up list Logical_Switch_Port 2>&1
    ovn-nbctl --timeout=5 list DHCP_Options 2>&1
    section "OVN port bindings of guest ports"
    ovn-sbctl --timeout=5 --columns=logical_port,chassis,up,mac find Port_Binding type='""' 2>&1
    # neutron's settings in NB_Global come from its OVN maintenance worker, and the network API
    # lists an agent from its Chassis_Private external_ids (id and sb_cfg against nb_cfg).
    section "OVN NB_Global and SB_Global"
    ovn-nbctl --timeout=5 --columns=nb_cfg,options,external_ids list NB_Global 2>&1
    ovn-sbctl --timeout=5 --columns=nb_cfg,options,external_ids list SB_Global 2>&1
    section "OVN Chassis_Private (the agents' registrations)"
    ovn-sbctl --timeout=5 --columns=name,nb_cfg,external_ids list Chassis_Private 2>&1
fi
if [ -s /var/log/neutron/neutron-ovn-maintenance-worker.log ] || [ -s /var/log/neutron/neutron-server.log ]; then
    section "neutron OVN maintenance worker: start and tasks (last 30)"
    grep -hE 'post initialization|Maintenance task thread|OVN maintenance task' \
        /var/log/neutron/neutron-ovn-maintenance-worker.log /var/log/neutron/neutron-server.log 2>/dev/null | tail -n 30
fi
if command -v virsh >/dev/null 2>&1; then
    section "virsh list --all"; virsh list --all 2>&1
    for domain in $(virsh list --name 2>/dev/null); do
        section "guest $domain: interfaces and console (last 15 lines)"
        virsh domiflist "$domain" 2>&1
        tail -n 15 "/var/lib/nova/instances/$(virsh domuuid "$domain" 2>/dev/null)/console.log" 2>&1
    done
fi
# Optional service cinder: the cluster's state, where its admin keyring is.
if [ -f /etc/ceph/ceph.client.admin.keyring ] && command -v ceph >/dev/null 2>&1; then
    section "ceph -s"; timeout 30 ceph --connect-timeout 10 -s 2>&1
    section "ceph health detail"; timeout 30 ceph --connect-timeout 10 health detail 2>&1
    section "ceph osd df"; timeout 30 ceph --connect-timeout 10 osd df 2>&1
    for log in /var/log/ceph/*.log; do
        [ -s "$log" ] || continue
        section "$log (last 30)"; tail -n 30 "$log" 2>&1
    done
fi
section "network namespaces"; ip netns list 2>&1
# The links' flags as well as their addresses: an OVS internal port that is down (no UP) keeps
# its address but passes nothing.
section "links"; ip -br link 2>&1
section "addresses"; ip -br addr 2>&1
if [ -f /root/.config/openstack/clouds.yaml ] && command -v openstack >/dev/null 2>&1; then
    for cmd in "compute service list" "hypervisor list --long" "network agent list" \
               "server list --all-projects --long" "port list --long" "endpoint list"; do
        section "openstack $cmd"
        timeout 60 openstack --os-cloud "${OS_CLOUD:-aptstack}" $cmd 2>&1 | mask
    done
    if [ -f /etc/cinder/cinder.conf ]; then
        for cmd in "volume service list" "volume list --all-projects --long"; do
            section "openstack $cmd"
            timeout 60 openstack --os-cloud "${OS_CLOUD:-aptstack}" $cmd 2>&1 | mask
        done
    fi
fi
