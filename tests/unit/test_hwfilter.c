// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Installing planned NIC filters for real (tc u32 over rtnetlink) on a veth in a network namespace of
 * this test's own: a veth holds nothing in hardware, so every filter must read back not in_hw, be
 * removed, and its rule must stay in BPF. The in_hw path itself is unverified on hardware. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "hwfilter.h"

static struct cop_policy pol;
static struct low_plan plan;
static struct hw_outcome out[LOW_MAX_FILTERS];
static int have_netns;

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET))
		return 0;
	have_netns = !system("ip link add khw0 type veth peer name khw1 && ip link set khw0 up && ip link set khw1 up");
	return 0;
}

static void make_plan(const char *text)
{
	struct chip_profile prof;
	char err[256];

	if (cop__parse_buf("hw.cop", text, strlen(text), &pol, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(lower__profile(OFL_GEN_T5, -1, OFL_FM_DEFAULT | OFL_FM_TOS,
					OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE | OFL_HW_RATE | OFL_HW_NAT, &prof),
			 0);
	assert_int_equal(lower__plan(&prof, &pol, &plan), 0);
}

static const char *policy_text = "P dst host 198.18.0.1 and dst port 80 => drop\n"
				 "P src net 198.18.0.0/15 and tos 0x10 => rxq 1\n"
				 "P dst host 198.18.0.1 and dst port 443 => offload\n";

/* This machine's kernel has cls_u32 but no tc action modules (act_gact, act_skbedit): drop and queue
 * filters are refused at install, the counting one (no action) installs and must read back not in_hw. */
static void check_outcomes(void)
{
	assert_int_equal(plan.nfilters, 3);
	assert_false(out[0].installed);
	assert_string_equal(out[0].why, "tc action 'gact' is not available in this kernel");
	assert_false(out[1].installed);
	assert_string_equal(out[1].why, "tc action 'skbedit' is not available in this kernel");
	assert_true(out[2].installed);
	assert_true(out[2].seen);
	assert_false(out[2].in_hw);
	assert_string_equal(out[2].why, "read back not in_hw: the NIC did not take it");
	assert_int_equal(hwfilter__count("khw0"), 0);	/* removed again: every rule stays in BPF */
}

static void test_filters_without_skip_sw_read_back_not_in_hw_and_fall_back(void **state)
{
	__u64 hw = ~0ULL;
	char err[256];

	(void)state;
	assert_true(have_netns);
	make_plan(policy_text);
	assert_int_equal(hwfilter__install("khw0", &plan, 0, &hw, out, err, sizeof(err)), 0);
	assert_int_equal(hw, 0);
	check_outcomes();
}

static void test_skip_sw_filter_accepted_on_veth_is_caught_by_the_read_back(void **state)
{
	__u64 hw = ~0ULL;
	char err[256];

	(void)state;
	assert_true(have_netns);
	make_plan(policy_text);
	assert_int_equal(hwfilter__install("khw0", &plan, 1, &hw, out, err, sizeof(err)), 0);
	assert_int_equal(hw, 0);
	check_outcomes();
}

static void test_ipv6_filters_are_not_installed_and_their_rule_stays_in_bpf(void **state)
{
	__u64 hw = ~0ULL;
	char err[256];

	(void)state;
	assert_true(have_netns);
	make_plan("P dst host 2001:db8::1 => offload\n");
	assert_int_equal(plan.nfilters, 1);
	assert_int_equal(hwfilter__install("khw0", &plan, 0, &hw, out, err, sizeof(err)), 0);
	assert_int_equal(hw, 0);
	assert_false(out[0].installed);
	assert_string_equal(out[0].why, "IPv6 filters are not installed by the u32 installer");
}

static void test_missing_interface_is_an_error(void **state)
{
	__u64 hw;
	char err[256];

	(void)state;
	make_plan(policy_text);
	assert_int_equal(hwfilter__install("nosuch0", &plan, 0, &hw, out, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "interface nosuch0: No such device");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_without_skip_sw_read_back_not_in_hw_and_fall_back),
		cmocka_unit_test(test_skip_sw_filter_accepted_on_veth_is_caught_by_the_read_back),
		cmocka_unit_test(test_ipv6_filters_are_not_installed_and_their_rule_stays_in_bpf),
		cmocka_unit_test(test_missing_interface_is_an_error),
	};

	return cmocka_run_group_tests_name("NIC filter install and read-back", tests, setup, NULL);
}
