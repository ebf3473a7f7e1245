// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Capability probe: fixture sysfs trees (T4, T5, T6, veth, unknown NIC) built by the test, and the
 * real kernel's answer for veth and lo inside a network namespace this test makes for itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "probe.h"

static char root[] = "/tmp/khelp-probe-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* a PCI NIC as sysfs shows it: class/net/IF/device -> ../../../devices/pci0000:00/PCI */
static void pci_nic(const char *ifname, const char *pci, const char *vendor, const char *device,
		    const char *driver)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/vendor", pci);
	put(rel, vendor);
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/device", pci);
	put(rel, device);
	snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/.keep", driver);
	put(rel, "");
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/driver", pci);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	link_to(rel, target);
	snprintf(rel, sizeof(rel), "class/net/%s/type", ifname);
	put(rel, "1\n");
	snprintf(rel, sizeof(rel), "class/net/%s/device", ifname);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", pci);
	link_to(rel, target);
}

static int setup_tree(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	pci_nic("t4eth0", "0000:03:00.4", "0x1425\n", "0x4401\n", "cxgb4");
	pci_nic("t5eth0", "0000:04:00.4", "0x1425\n", "0x5401\n", "cxgb4");
	put("kernel/debug/cxgb4/0000:04:00.4/tids",
	    "TID range: 0..12287, in use: 0\nSTID range: 12288..12799, in use: 0\nFTID range: 12800..13295\n");
	pci_nic("t6eth0", "0000:05:00.4", "0x1425\n", "0x6401\n", "cxgb4");
	pci_nic("ch7", "0000:06:00.4", "0x1425\n", "0x7401\n", "cxgb4");
	pci_nic("enp1s0", "0000:01:00.0", "0x8086\n", "0x10d3\n", "e1000e");
	put("class/net/veth0/type", "1\n");	/* virtual: no device link */
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static const struct ofl_live cxgb4_live = { .driver = "cxgb4", .hw_tc_offload = OFL_YES, .ntuple = OFL_YES,
					    .xdp_queried = 1 };

static void test_t4_is_detected_with_tc_datapath_and_no_nat(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "t4eth0", &cxgb4_live, &c), 0);
	assert_string_equal(c.driver, "cxgb4");
	assert_string_equal(c.pci, "0000:03:00.4");
	assert_int_equal(c.vendor, 0x1425);
	assert_int_equal(c.device, 0x4401);
	assert_int_equal(c.gen, OFL_GEN_T4);
	assert_int_equal(c.native_xdp, OFL_NO);
	assert_int_equal(c.datapath, OFL_DP_TC);
	assert_int_equal(c.hw_kinds, OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE | OFL_HW_RATE);
	assert_int_equal(c.filter_budget, -1);	/* no debugfs in this fixture */
}

static void test_t5_reads_filter_budget_from_debugfs_and_has_nat(void **state)
{
	struct ofl_caps c;
	char kinds[64];

	(void)state;
	assert_int_equal(probe__read(root, "t5eth0", &cxgb4_live, &c), 0);
	assert_int_equal(c.gen, OFL_GEN_T5);
	assert_int_equal(c.filter_budget, 496);
	assert_int_equal(c.datapath, OFL_DP_TC);
	probe__hw_kinds_str(c.hw_kinds, kinds, sizeof(kinds));
	assert_string_equal(kinds, "drop,redirect,queue,rate,nat");
}

static void test_t6_generation_from_device_id(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "t6eth0", &cxgb4_live, &c), 0);
	assert_int_equal(c.gen, OFL_GEN_T6);
	assert_string_equal(probe__gen_name(c.gen), "T6");
}

static void test_chelsio_without_hw_tc_offload_or_ntuple_lowers_nothing(void **state)
{
	struct ofl_live off = cxgb4_live;
	struct ofl_caps c;

	(void)state;
	off.hw_tc_offload = OFL_NO;
	off.ntuple = OFL_NO;
	assert_int_equal(probe__read(root, "t5eth0", &off, &c), 0);
	assert_int_equal(c.hw_kinds, 0);
	assert_contains(c.why, "hw-tc-offload and ntuple-filters are off");
	off.ntuple = OFL_YES;	/* ethtool ntuple alone: drop and queue steering */
	assert_int_equal(probe__read(root, "t5eth0", &off, &c), 0);
	assert_int_equal(c.hw_kinds, OFL_HW_DROP | OFL_HW_QUEUE);
}

static void test_unknown_chelsio_generation_gets_no_profile(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "ch7", &cxgb4_live, &c), 0);
	assert_int_equal(c.gen, OFL_GEN_CHELSIO_OTHER);
	assert_int_equal(c.hw_kinds, 0);
}

static void test_unknown_nic_is_not_chelsio_and_uses_tc(void **state)
{
	struct ofl_live live = { .driver = "e1000e", .hw_tc_offload = OFL_NO, .ntuple = OFL_NO, .xdp_queried = 1 };
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "enp1s0", &live, &c), 0);
	assert_string_equal(c.driver, "e1000e");
	assert_int_equal(c.vendor, 0x8086);
	assert_int_equal(c.gen, OFL_GEN_NONE);
	assert_int_equal(c.native_xdp, OFL_NO);
	assert_int_equal(c.datapath, OFL_DP_TC);
	assert_int_equal(c.hw_kinds, 0);
}

static void test_veth_fixture_plans_native_xdp_from_xdp_features(void **state)
{
	struct ofl_live live = { .driver = "veth", .hw_tc_offload = OFL_NO, .ntuple = OFL_NO, .xdp_queried = 1,
				 .xdp_reported = 1, .xdp_features = 0x7 };
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "veth0", &live, &c), 0);
	assert_int_equal(c.vendor, 0);
	assert_string_equal(c.pci, "");
	assert_int_equal(c.native_xdp, OFL_YES);
	assert_string_equal(c.native_xdp_source, "netdev xdp-features");
	assert_int_equal(c.datapath, OFL_DP_XDP);
}

static void test_driver_table_decides_when_kernel_reports_no_xdp_features(void **state)
{
	struct ofl_live live = { .driver = "veth", .xdp_queried = 1 };
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "veth0", &live, &c), 0);
	assert_int_equal(c.native_xdp, OFL_YES);
	assert_string_equal(c.native_xdp_source, "driver table");
}

static void test_missing_interface_and_bad_names_are_errors(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_int_equal(probe__read(root, "nosuch0", &cxgb4_live, &c), -ENODEV);
	assert_int_equal(probe__read(root, "../t4eth0", &cxgb4_live, &c), -EINVAL);
	assert_int_equal(probe__read(root, "", &cxgb4_live, &c), -EINVAL);
}

/* ---- the real kernel, in a network namespace of our own ---- */

static int real_netns;

static int setup_netns(void **state)
{
	(void)state;
	/* sysfs shows the namespace of whoever mounted it: a mount namespace of our own with a fresh sysfs */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL))
		return 0;	/* the tests then fail on real_netns */
	real_netns = !system("ip link add kpv0 type veth peer name kpv1 && ip link set lo up "
			     "&& ip link set kpv0 up && ip link set kpv1 up");
	return 0;
}

static void test_real_veth_has_native_xdp(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_true(real_netns);	/* root, netns and sysfs mount are this suite's premise */
	assert_int_equal(probe__interface("kpv0", &c), 0);
	assert_string_equal(c.driver, "veth");
	assert_int_equal(c.gen, OFL_GEN_NONE);
	assert_int_equal(c.native_xdp, OFL_YES);
	assert_int_equal(c.datapath, OFL_DP_XDP);
	assert_int_equal(c.hw_kinds, 0);
	assert_int_equal(c.hw_tc_offload, OFL_NO);
}

static void test_real_lo_has_no_native_xdp(void **state)
{
	struct ofl_caps c;

	(void)state;
	assert_true(real_netns);	/* root, netns and sysfs mount are this suite's premise */
	assert_int_equal(probe__interface("lo", &c), 0);
	assert_int_equal(c.vendor, 0);
	assert_int_equal(c.native_xdp, OFL_NO);
	assert_int_equal(c.datapath, OFL_DP_TC);
	assert_int_equal(probe__interface("nosuch0", &c), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest fixture_tests[] = {
		cmocka_unit_test(test_t4_is_detected_with_tc_datapath_and_no_nat),
		cmocka_unit_test(test_t5_reads_filter_budget_from_debugfs_and_has_nat),
		cmocka_unit_test(test_t6_generation_from_device_id),
		cmocka_unit_test(test_chelsio_without_hw_tc_offload_or_ntuple_lowers_nothing),
		cmocka_unit_test(test_unknown_chelsio_generation_gets_no_profile),
		cmocka_unit_test(test_unknown_nic_is_not_chelsio_and_uses_tc),
		cmocka_unit_test(test_veth_fixture_plans_native_xdp_from_xdp_features),
		cmocka_unit_test(test_driver_table_decides_when_kernel_reports_no_xdp_features),
		cmocka_unit_test(test_missing_interface_and_bad_names_are_errors),
	};
	const struct CMUnitTest real_tests[] = {
		cmocka_unit_test(test_real_veth_has_native_xdp),
		cmocka_unit_test(test_real_lo_has_no_native_xdp),
	};
	int failed;

	failed = cmocka_run_group_tests_name("probe over fixture trees", fixture_tests, setup_tree, teardown_tree);
	failed += cmocka_run_group_tests_name("probe of real interfaces", real_tests, setup_netns, NULL);
	return failed;
}
