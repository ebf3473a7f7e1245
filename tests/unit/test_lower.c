// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Hardware lowering per chip profile: NAT on T4, the IPv6 slot cost, the filter budget, the firmware
 * filterMode, first-match order, and the --dry-run text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "lower.h"

#define ALL_KINDS (OFL_HW_DROP | OFL_HW_REDIRECT | OFL_HW_QUEUE | OFL_HW_RATE | OFL_HW_NAT)

static struct cop_policy pol;
static struct low_plan plan;
static char err[512];

static void compile(const char *text)
{
	int ret = cop__parse_buf("t.cop", text, strlen(text), &pol, err, sizeof(err));

	if (ret)
		fail_msg("%s", err);
}

static void plan_for(enum ofl_gen gen, int budget, unsigned int fmode, const char *text)
{
	struct chip_profile prof;

	compile(text);
	assert_int_equal(lower__profile(gen, budget, fmode, ALL_KINDS, &prof), 0);
	assert_int_equal(lower__plan(&prof, &pol, &plan), 0);
}

static void test_t4_refuses_nat_and_t5_t6_take_it(void **state)
{
	struct chip_profile prof;
	char why[160];

	(void)state;
	assert_int_equal(lower__profile(OFL_GEN_T4, -1, 0, ALL_KINDS, &prof), 0);
	assert_int_equal(lower__check_action(&prof, LOW_ACT_NAT, why, sizeof(why)), -ENOTSUP);
	assert_string_equal(why, "T4 has no NAT offload (NAT filters start with T5)");
	assert_int_equal(lower__profile(OFL_GEN_T5, -1, 0, ALL_KINDS, &prof), 0);
	assert_int_equal(lower__check_action(&prof, LOW_ACT_NAT, why, sizeof(why)), 0);
	assert_int_equal(lower__profile(OFL_GEN_T6, -1, 0, ALL_KINDS & ~OFL_HW_NAT, &prof), 0);
	assert_int_equal(lower__check_action(&prof, LOW_ACT_NAT, why, sizeof(why)), -ENOTSUP);
	assert_int_equal(lower__profile(OFL_GEN_NONE, -1, 0, 0, &prof), -ENOTSUP);
}

static void test_ipv6_filter_costs_four_slots_on_t4_t5_and_two_on_t6(void **state)
{
	const char *p = "P dst host 2001:db8::1 and dst port 80 => drop\nP dst host 198.18.0.1 => drop\n";

	(void)state;
	plan_for(OFL_GEN_T4, -1, 0, p);
	assert_int_equal(plan.rules[0].where, LOW_HW);
	assert_int_equal(plan.rules[0].slots, 4);
	assert_int_equal(plan.rules[1].slots, 1);
	assert_int_equal(plan.slots_used, 5);
	plan_for(OFL_GEN_T5, -1, 0, p);
	assert_int_equal(plan.slots_used, 5);
	plan_for(OFL_GEN_T6, -1, 0, p);
	assert_int_equal(plan.rules[0].slots, 2);
	assert_int_equal(plan.slots_used, 3);
}

static void test_rule_without_address_needs_an_ipv4_and_an_ipv6_filter(void **state)
{
	(void)state;
	plan_for(OFL_GEN_T5, -1, 0, "P dst port 9 => drop\n");
	assert_int_equal(plan.rules[0].nfilters, 2);
	assert_int_equal(plan.rules[0].slots, 5);
}

static void test_budget_exhaustion_spills_to_bpf(void **state)
{
	(void)state;
	plan_for(OFL_GEN_T5, 6, 0,
		 "P dst host 198.18.0.1 => drop\n"
		 "P dst host 2001:db8::1 => drop\n"
		 "P dst host 2001:db8::2 => drop\n"
		 "P dst host 198.18.0.2 => offload\n");
	assert_int_equal(plan.rules[0].where, LOW_HW);
	assert_int_equal(plan.rules[1].where, LOW_HW);
	assert_int_equal(plan.rules[2].where, LOW_SW);
	assert_string_equal(plan.rules[2].why, "over the filter budget: needs 4 slots, 1 of 6 left");
	/* a counting rule changes no packet's fate: it may still go to hardware after a spilled one */
	assert_int_equal(plan.rules[3].where, LOW_HW);
	assert_int_equal(plan.slots_used, 6);
}

static void test_tos_match_refused_by_default_filtermode(void **state)
{
	unsigned int fmode;

	(void)state;
	plan_for(OFL_GEN_T5, -1, 0, "P tos 0x10 and dst host 198.18.0.1 => drop\n");
	assert_int_equal(plan.rules[0].where, LOW_SW);
	assert_string_equal(plan.rules[0].why,
			    "filterMode lacks 'tos': the chip cannot match tos (not in the default filterMode)");
	assert_int_equal(lower__parse_fmode("tos,protocol,vlan", &fmode, err, sizeof(err)), 0);
	plan_for(OFL_GEN_T5, -1, fmode, "P tos 0x10 and dst host 198.18.0.1 => drop\n");
	assert_int_equal(plan.rules[0].where, LOW_HW);
	assert_int_equal(lower__parse_fmode("tos,bogus", &fmode, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown filterMode field 'bogus' (valid: fcoe, port, vnic_id, vlan, tos, protocol, "
				 "ethertype, macmatch, mpshittype, fragmentation)");
}

static void test_what_no_nic_filter_can_express_stays_in_software(void **state)
{
	(void)state;
	plan_for(OFL_GEN_T6, -1, 0,
		 "P not dst port 22 => offload\n"
		 "P portrange 1000-2000 => offload\n"
		 "P mark 7 => offload\n"
		 "P dst port 80 => class 3\n"
		 "P dst port 81 => !offload\n");
	assert_string_equal(plan.rules[0].why, "a negation cannot be expressed by NIC filters");
	assert_string_equal(plan.rules[1].why, "port ranges cannot be matched by a cxgb4 filter (exact ports only)");
	assert_string_equal(plan.rules[2].why, "the mark is kernel state; a NIC filter cannot match it");
	assert_string_equal(plan.rules[3].why,
			    "rate class 3 stays in software: cxgb4 polices per port (matchall), not per filter");
	for (int i = 0; i < 4; i++)
		assert_int_equal(plan.rules[i].where, LOW_SW);
	assert_int_equal(plan.rules[4].where, LOW_NONE);
	assert_int_equal(plan.nfilters, 0);
}

static void test_drop_after_a_software_rule_stays_in_software_to_keep_first_match(void **state)
{
	(void)state;
	plan_for(OFL_GEN_T5, -1, 0, "P dst port 22 => !offload\nP dst port 9 => drop\n");
	assert_int_equal(plan.rules[1].where, LOW_SW);
	assert_string_equal(plan.rules[1].why,
			    "rule 1 before it is not in hardware; a NIC filter would run first and break first-match order");
}

static void test_nic_without_hw_tc_offload_lowers_nothing(void **state)
{
	struct chip_profile prof;

	(void)state;
	compile("P dst host 198.18.0.1 => drop\n");
	assert_int_equal(lower__profile(OFL_GEN_T5, -1, 0, 0, &prof), 0);
	assert_int_equal(lower__plan(&prof, &pol, &plan), 0);
	assert_int_equal(plan.rules[0].where, LOW_SW);
	assert_string_equal(plan.rules[0].why, "hardware drop needs hw-tc-offload or ntuple-filters");
}

static void test_dry_run_prints_the_tc_filters_in_rule_order(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	plan_for(OFL_GEN_T5, -1, 0,
		 "A dst net 198.18.0.0/15 and dst port 443 => offload\n"
		 "P (dst port 80 or dst port 8080) and src host 198.18.0.2 => rxq 3\n"
		 "P tos 0x10 => drop\n");
	lower__print(&plan, &pol, "eth2", f);
	fclose(f);
	assert_string_equal(text,
		"# T5 profile: 496 filter slots, IPv6 costs 4, NAT yes (unverified on hardware)\n"
		"# rule 1 (line 1): A (dst net 198.18.0.0/15 and dst port 443) => offload\n"
		"#   -> hardware: 1 NIC filter, 1 slot\n"
		"tc filter add dev eth2 ingress prio 1 protocol ip flower skip_sw ip_proto tcp src_ip 198.18.0.0/15 "
		"src_port 443 action pass\n"
		"# rule 2 (line 2): P ((dst port 80 or dst port 8080) and src host 198.18.0.2) => rxq 3\n"
		"#   -> hardware: 2 NIC filters, 2 slots\n"
		"tc filter add dev eth2 ingress prio 2 protocol ip flower skip_sw ip_proto tcp src_ip 198.18.0.2/32 "
		"dst_port 80 action skbedit queue_mapping 3 hw\n"
		"tc filter add dev eth2 ingress prio 3 protocol ip flower skip_sw ip_proto tcp src_ip 198.18.0.2/32 "
		"dst_port 8080 action skbedit queue_mapping 3 hw\n"
		"# rule 3 (line 3): P tos 0x10 => drop\n"
		"#   -> software: filterMode lacks 'tos': the chip cannot match tos (not in the default filterMode)\n"
		"# 3 of 496 slots used\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_t4_refuses_nat_and_t5_t6_take_it),
		cmocka_unit_test(test_ipv6_filter_costs_four_slots_on_t4_t5_and_two_on_t6),
		cmocka_unit_test(test_rule_without_address_needs_an_ipv4_and_an_ipv6_filter),
		cmocka_unit_test(test_budget_exhaustion_spills_to_bpf),
		cmocka_unit_test(test_tos_match_refused_by_default_filtermode),
		cmocka_unit_test(test_what_no_nic_filter_can_express_stays_in_software),
		cmocka_unit_test(test_drop_after_a_software_rule_stays_in_software_to_keep_first_match),
		cmocka_unit_test(test_nic_without_hw_tc_offload_lowers_nothing),
		cmocka_unit_test(test_dry_run_prints_the_tc_filters_in_rule_order),
	};

	return cmocka_run_group_tests_name("hardware lowering", tests, NULL, NULL);
}
