// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* COP policy compiler: golden output for valid rules, and every error class with its line and column. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "khelp_test.h"
#include "cop.h"

static struct cop_policy pol;
static char err[512];

static int compile(const char *text)
{
	err[0] = '\0';
	return cop__parse_buf("web.cop", text, strlen(text), &pol, err, sizeof(err));
}

static void assert_rule(unsigned int i, const char *want)
{
	char got[1024];

	assert_true(i < pol.nrules);
	cop__rule_str(&pol.rules[i], got, sizeof(got));
	assert_string_equal(got, want);
}

static void assert_error(const char *text, const char *want)
{
	assert_int_equal(compile(text), -EINVAL);
	assert_string_equal(err, want);
}

static void test_valid_rules_compile_to_their_canonical_form(void **state)
{
	(void)state;
	assert_int_equal(compile("# web tier\n"
				 "\n"
				 "P dst port 80 => offload, cong cubic, !nagle\n"
				 "A src net 198.18.0.0/15 && dst portrange 5000-5100 => offload, mss 1400, ecn\n"
				 "L port 443 => !offload   # keep TLS listeners in the kernel\n"
				 "D host 2001:db8::1 or (tcp and not dst port 22) => class 3, rxq 2\n"
				 "dscp 46 || tos 0xb8 || mark 7 || vlan 100 => offload\n"
				 "D all => !offload\n"),
			 0);
	assert_int_equal(pol.nrules, 6);
	assert_rule(0, "P dst port 80 => offload, cong cubic, !nagle");
	assert_rule(1, "A (src net 198.18.0.0/15 and dst portrange 5000-5100) => offload, mss 1400, ecn");
	assert_rule(2, "L port 443 => !offload");
	assert_rule(3, "D (host 2001:db8::1 or (proto tcp and not dst port 22)) => class 3, rxq 2");
	assert_rule(4, "D (((dscp 46 or tos 0xb8) or mark 7) or vlan 100) => offload");
	assert_rule(5, "D all => !offload");
	assert_int_equal(pol.rules[0].line, 3);
	assert_int_equal(pol.rules[5].line, 8);
}

static void test_and_or_have_equal_precedence_left_to_right_as_in_pcap(void **state)
{
	(void)state;
	assert_int_equal(compile("port 1 or port 2 and port 3 => offload\n"), 0);
	assert_rule(0, "D ((port 1 or port 2) and port 3) => offload");
	assert_int_equal(compile("not port 1 and port 2 => offload\n"), 0);
	assert_rule(0, "D (not port 1 and port 2) => offload");
}

static void test_compiled_form_is_postfix_with_masked_addresses(void **state)
{
	const struct ofl_rule *r = &pol.rules[0];

	(void)state;
	assert_int_equal(compile("A src net 198.19.255.255/15 and dst port 80 => offload"), 0);
	assert_int_equal(r->socktypes, OFL_SOCK_A);
	assert_int_equal(r->nops, 3);
	assert_int_equal(r->ops[0].code, OFL_OP_PRED);
	assert_int_equal(r->ops[0].field, OFL_F_HOST);
	assert_int_equal(r->ops[0].dir, OFL_DIR_SRC);
	assert_int_equal(r->ops[0].family, 4);
	assert_int_equal(r->ops[0].addr[0], htonl(0xc6120000));	/* 198.18.0.0 */
	assert_int_equal(r->ops[0].mask[0], htonl(0xfffe0000));
	assert_int_equal(r->ops[1].field, OFL_F_PORT);
	assert_int_equal(r->ops[1].lo, 80);
	assert_int_equal(r->ops[2].code, OFL_OP_AND);
	assert_int_equal(r->set, OFL_S_OFFLOAD);
	assert_int_equal(r->val, OFL_S_OFFLOAD);
	assert_true(cop__offloads(r));
}

static void test_matching_rule_without_offload_setting_offloads_like_freebsd(void **state)
{
	(void)state;
	assert_int_equal(compile("all => cong reno\nall => !offload\nall => drop\n"), 0);
	assert_true(cop__offloads(&pol.rules[0]));
	assert_false(cop__offloads(&pol.rules[1]));
	assert_false(cop__offloads(&pol.rules[2]));
}

static void test_empty_policy_has_no_rules(void **state)
{
	(void)state;
	assert_int_equal(compile("# nothing\n\n   \n"), 0);
	assert_int_equal(pol.nrules, 0);
}

static void test_syntax_errors_name_line_and_column(void **state)
{
	(void)state;
	assert_error("all => offload\nX port 1 => offload\n",
		     "web.cop:2:1: unknown socket type 'X' (valid: A active, P passive, L listen, D any)");
	assert_error("P port 80 offload\n", "web.cop:1:11: expected 'and', 'or' or '=>' after the filter, found offload");
	assert_error("P port 80\n", "web.cop:1:10: missing '=>' and settings");
	assert_error("A => offload\n", "web.cop:1:3: missing filter before '=>' (use 'all' to match every connection)");
	assert_error("(port 1 or port 2 => offload\n",
		     "web.cop:1:19: expected ')' to close the '(' at column 1, found '=>'");
	assert_error("port 1) => offload\n", "web.cop:1:7: unbalanced ')'");
	assert_error("port 1 and => offload\n", "web.cop:1:12: expected a filter term, found '=>'");
	assert_error("port 1 & port 2 => offload\n", "web.cop:1:8: unexpected '&' (use '&&' or 'and')");
	assert_error("all =>\n", "web.cop:1:7: missing settings after '=>' (e.g. 'offload' or '!offload')");
	assert_error("all => offload cong reno\n", "web.cop:1:16: expected ',' between settings, found cong");
}

static void test_unknown_filter_terms_and_bad_values_are_errors(void **state)
{
	(void)state;
	assert_error("\n\nD ether host 1 => offload\n",
		     "web.cop:3:3: unknown filter term 'ether' (valid: host, net, port, portrange with optional "
		     "src/dst; proto, tcp, udp, vlan, tos, dscp, mark, all)");
	assert_error("dst port 65536 => offload\n", "web.cop:1:10: invalid port '65536' (valid: 0-65535)");
	assert_error("port http => offload\n", "web.cop:1:6: invalid port 'http' (valid: 0-65535)");
	assert_error("portrange 90-80 => offload\n",
		     "web.cop:1:11: empty port range '90-80' (LOW must not exceed HIGH)");
	assert_error("portrange 80-x => offload\n", "web.cop:1:14: invalid port 'x' (valid: 0-65535)");
	assert_error("host 198.18.0.300 => offload\n", "web.cop:1:6: invalid address '198.18.0.300' (IPv4 or IPv6)");
	assert_error("host 198.18.0.0/15 => offload\n",
		     "web.cop:1:6: 'host' takes an address without a prefix length (use 'net 198.18.0.0/15')");
	assert_error("net 198.18.0.0/33 => offload\n", "web.cop:1:5: invalid prefix length '/33' (valid: 0-32)");
	assert_error("net 198.18.0.0 => offload\n", "web.cop:1:5: 'net' needs a prefix length: '198.18.0.0/N'");
	assert_error("src proto tcp => offload\n",
		     "web.cop:1:5: expected host, net, port or portrange after 'src', found proto");
	assert_error("vlan 4096 => offload\n", "web.cop:1:6: invalid VLAN id '4096' (valid: 0-4095)");
	assert_error("tos 256 => offload\n", "web.cop:1:5: invalid TOS '256' (valid: 0-255)");
	assert_error("dscp 64 => offload\n", "web.cop:1:6: invalid DSCP '64' (valid: 0-63)");
	assert_error("proto sctpx => offload\n",
		     "web.cop:1:7: invalid protocol (tcp, udp or a number) 'sctpx' (valid: 0-255)");
	assert_error("mark => offload\n", "web.cop:1:6: expected mark, found '=>'");
}

static void test_settings_without_linux_equivalent_are_refused(void **state)
{
	(void)state;
	assert_error("all => offload, ddp\n",
		     "web.cop:1:17: setting 'ddp' has no Linux equivalent: direct data placement is done by a TOE; "
		     "upstream Linux has no TOE");
	assert_error("all => tls\n", "web.cop:1:8: setting 'tls' has no Linux equivalent: inline TLS is done by a TOE; "
				     "upstream Linux has no TOE (kernel TLS is set up by the application)");
	assert_error("all => !coalesce\n",
		     "web.cop:1:9: setting 'coalesce' has no Linux equivalent: receive coalescing per connection is "
		     "done by a TOE; Linux has GRO per interface only");
	assert_error("all => tstamp\n",
		     "web.cop:1:8: setting 'tstamp' has no Linux equivalent: TCP timestamps cannot be set per "
		     "connection on Linux (net.ipv4.tcp_timestamps is global)");
	assert_error("all => sack\n", "web.cop:1:8: setting 'sack' has no Linux equivalent: SACK cannot be set per "
				      "connection on Linux (net.ipv4.tcp_sack is global)");
	assert_error("all => txq 1\n", "web.cop:1:8: setting 'txq' has no Linux equivalent: Linux picks the TX queue "
				       "per packet (XPS), not per connection");
	assert_error("all => bind 0\n", "web.cop:1:8: setting 'bind' has no Linux equivalent: binding a connection "
					"to a TOE queue set has no Linux equivalent");
}

static void test_bad_settings_are_errors(void **state)
{
	(void)state;
	assert_error("all => turbo\n",
		     "web.cop:1:8: unknown setting 'turbo' (valid: offload, cong NAME, nagle, mss N, ecn, class N, "
		     "rxq N, drop; '!' negates offload, nagle, ecn)");
	assert_error("all => mss 40\n", "web.cop:1:12: invalid mss '40' (valid: 88-65535)");
	assert_error("all => class 16\n", "web.cop:1:14: invalid class '16' (valid: 0-15)");
	assert_error("all => rxq\n", "web.cop:1:11: expected rxq, found end of line");
	assert_error("all => cong\n", "web.cop:1:12: 'cong' needs a congestion control name, found end of line");
	assert_error("all => cong averyverylongccname\n",
		     "web.cop:1:13: congestion control name 'averyverylongccname' too long (at most 15 characters)");
	assert_error("all => offload, !offload\n", "web.cop:1:17: setting 'offload' given twice in one rule");
	assert_error("all => !mss 1400\n", "web.cop:1:8: setting 'mss' cannot be negated");
	assert_error("all => drop, offload\n", "web.cop:1:1: 'drop' and 'offload' contradict each other in one rule");
}

static void test_limits_are_errors(void **state)
{
	static char big[OFL_MAX_RULES * 16 + 64];
	size_t off = 0;

	(void)state;
	assert_error("port 1 or port 2 or port 3 or port 4 or port 5 or port 6 or port 7 or port 8 or port 9 => offload\n",
		     "web.cop:1:78: filter too long (at most 16 terms and operators per rule)");
	for (int i = 0; i <= OFL_MAX_RULES; i++)
		off += snprintf(big + off, sizeof(big) - off, "all => offload\n");
	assert_error(big, "web.cop:65:1: too many rules (at most 64)");
	assert_int_equal(cop__parse_buf("web.cop", "all => offload\0x", 16, &pol, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "web.cop:1:1: NUL byte in policy file");
}

static void test_missing_file_is_an_error_naming_it(void **state)
{
	(void)state;
	assert_int_equal(cop__parse_file("/nonexistent/web.cop", &pol, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/web.cop: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_rules_compile_to_their_canonical_form),
		cmocka_unit_test(test_and_or_have_equal_precedence_left_to_right_as_in_pcap),
		cmocka_unit_test(test_compiled_form_is_postfix_with_masked_addresses),
		cmocka_unit_test(test_matching_rule_without_offload_setting_offloads_like_freebsd),
		cmocka_unit_test(test_empty_policy_has_no_rules),
		cmocka_unit_test(test_syntax_errors_name_line_and_column),
		cmocka_unit_test(test_unknown_filter_terms_and_bad_values_are_errors),
		cmocka_unit_test(test_settings_without_linux_equivalent_are_refused),
		cmocka_unit_test(test_bad_settings_are_errors),
		cmocka_unit_test(test_limits_are_errors),
		cmocka_unit_test(test_missing_file_is_an_error_naming_it),
	};

	return cmocka_run_group_tests_name("COP policy compiler", tests, NULL, NULL);
}
