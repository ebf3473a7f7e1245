// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kh_cdg: FreeBSD's CAIA Delay-Gradient CC (cc_cdg(4)) as a BPF
 * tcp_congestion_ops, driven by h_ertt's per-RTT marked measurement.
 *
 * Once per RTT the gradients of the per-RTT minimum and maximum RTT,
 * smoothed over smoothing_factor RTTs, give a backoff probability
 * P = 1 - exp(-gradient / exp_backoff_scale) (table lookup) and an estimate
 * of the bottleneck queue: EMPTY, RISING, FALLING or FULL. A delay backoff
 * sets cwnd = ssthresh = cwnd * beta_delay%. Loss only reduces the window
 * (to beta_loss%, or to a shadow NewReno window) when the queue is thought
 * FULL. After loss_compete_consec_cong backoffs without the queue falling
 * CDG assumes loss-based competitors and holds back for
 * loss_compete_hold_backoff RTTs. In avoidance the window grows by
 * window_incr packets per RTT, window_incr += 1 every alpha_inc RTTs
 * (alpha_inc = 0: one packet per RTT).
 * RTTs are microseconds; gradients keep FreeBSD's unit (ms per RTT, hz =
 * 1000, << 7) so exp_backoff_scale means what it means on FreeBSD.
 * The smoothing queues do not fit icsk_ca_priv: the state lives in
 * sk_storage (KHELP_F_NEEDS_DATA), created in .init, deleted in .release.
 * Without h_ertt data for the connection the module behaves as NewReno.
 */
#define KHELP_CC 1
#define KHELP_PARAMS(P)								\
	P(alpha_inc,			KHELP_PARAM_UINT, 0, 0, 1000000)	\
	P(beta_delay,			KHELP_PARAM_UINT, 70, 1, 100)		\
	P(beta_loss,			KHELP_PARAM_UINT, 50, 1, 100)		\
	P(exp_backoff_scale,		KHELP_PARAM_UINT, 3, 1, 1000000)	\
	P(smoothing_factor,		KHELP_PARAM_UINT, 8, 0, 32)		\
	P(loss_compete_consec_cong,	KHELP_PARAM_UINT, 5, 0, 1000000)	\
	P(loss_compete_hold_backoff,	KHELP_PARAM_UINT, 5, 0, 1000000)
#include <khelp/khelp.bpf.h>
#include "kh_cc.h"
#include "h_ertt.h"

#define CDG_NEWRENO_BETA	50	/* FreeBSD's newreno cong_signal default */
#define CDG_RENO_BETA		50	/* shadow window deflation on loss, percent */
#define CDG_MAX_SAMPLES		32	/* largest smoothing_factor (power of two) */
#define CDG_EXP_PREC		15	/* bits of the probexp table */
#define CDG_MAXGRAD		5	/* largest gradient in the probexp table */
#define CDG_D_P_E		7	/* gradient precision: ms << 7 */
#define CDG_RTT_INF		0xffffffffU

/* Queue states. */
#define CDG_Q_EMPTY		1
#define CDG_Q_RISING		2
#define CDG_Q_FALLING		3
#define CDG_Q_FULL		4
#define CDG_Q_UNKNOWN		9999

/* flags (icsk_ca_priv) */
#define CDG_ECE			0x01	/* this ACK carries ECE */
#define CDG_DELAY_RECOVERY	0x02	/* congestion recovery after a delay backoff */
#define CDG_CONGESTION_ACK	0x04	/* this ACK saw delay congestion: no increase */
#define CDG_NEW_MEASUREMENT	0x08	/* this ACK brought a new measurement */
#define CDG_HAVE_ERTT		0x10	/* h_ertt data exists for the connection */

/* Per-connection state (sk_storage). */
struct cdg {
	__s32 max_qtrend;		/* smoothed gradient of the per-RTT max RTT */
	__s32 min_qtrend;		/* smoothed gradient of the per-RTT min RTT */
	__u32 window_incr;		/* packets added per RTT in avoidance */
	__u32 rtt_count;		/* RTTs since window_incr last grew */
	__u32 maxrtt_in_rtt;		/* us */
	__u32 maxrtt_in_prevrtt;	/* us, 0 = none */
	__u32 minrtt_in_rtt;		/* us */
	__u32 minrtt_in_prevrtt;	/* us */
	__u32 consec_cong_cnt;		/* consecutive delay congestion episodes */
	__u32 shadow_w;			/* packets: NewReno window for loss competition, 0 = off */
	__u32 saved_shadow_w;		/* before the last ssthresh() (RTO restores) */
	__u32 sample_q_size;		/* smoothing samples (smoothing_factor) */
	__u32 num_samples;		/* samples in the queues */
	__u32 q_head;			/* oldest sample once the queues are full */
	__u32 queue_state;		/* CDG_Q_* */
	__u32 backoffs;			/* delay-based backoffs taken (diagnostics) */
	__s64 qdiffmin_sum;		/* sum of the samples in qdiffmin_q */
	__s64 qdiffmax_sum;		/* sum of the samples in qdiffmax_q */
	__s32 qdiffmin_q[CDG_MAX_SAMPLES];
	__s32 qdiffmax_q[CDG_MAX_SAMPLES];
};
KHELP_DATA(kh_cdg, struct cdg);
KHELP_DATA(h_ertt, struct ertt);
KHELP_DEPENDS("h_ertt");

/* Parameters and per-ACK flags (icsk_ca_priv). */
struct kh_cdg {
	__u32 alpha_inc;
	__u32 beta_delay;
	__u32 beta_loss;
	__u32 exp_backoff_scale;
	__u32 consec_cong;
	__u32 hold_backoff;
	__u32 flags;
	__u32 recover_seq;		/* delay recovery ends when snd_una reaches this */
};
KHCC_PRIV_FITS(struct kh_cdg);

/*
 * (1 - exp(-x)) << CDG_EXP_PREC for x = 0 .. CDG_MAXGRAD in steps of 2^-7,
 * computed offline; entry 0 is 10, not 0, so a tiny gradient still has a
 * chance (as in FreeBSD).
 */
static const __u16 probexp[CDG_MAXGRAD * (1 << CDG_D_P_E) + 1] = {
	10, 255, 508, 759, 1008, 1255, 1501, 1744, 1985, 2225, 2463, 2698,
	2932, 3165, 3395, 3624, 3850, 4075, 4299, 4520, 4740, 4958, 5175, 5389,
	5602, 5814, 6024, 6232, 6438, 6643, 6846, 7048, 7248, 7447, 7644, 7839,
	8033, 8226, 8417, 8606, 8794, 8981, 9166, 9350, 9532, 9713, 9892, 10070,
	10247, 10422, 10596, 10769, 10940, 11110, 11278, 11445, 11611, 11776, 11939, 12101,
	12262, 12422, 12580, 12737, 12893, 13048, 13201, 13354, 13505, 13655, 13803, 13951,
	14097, 14243, 14387, 14530, 14672, 14813, 14952, 15091, 15229, 15365, 15500, 15635,
	15768, 15900, 16032, 16162, 16291, 16419, 16547, 16673, 16798, 16922, 17046, 17168,
	17289, 17410, 17529, 17648, 17766, 17882, 17998, 18113, 18227, 18340, 18453, 18564,
	18675, 18784, 18893, 19001, 19108, 19215, 19320, 19425, 19529, 19632, 19734, 19835,
	19936, 20036, 20135, 20233, 20331, 20427, 20523, 20619, 20713, 20807, 20900, 20993,
	21084, 21175, 21265, 21355, 21444, 21532, 21619, 21706, 21792, 21878, 21962, 22046,
	22130, 22213, 22295, 22376, 22457, 22537, 22617, 22696, 22774, 22852, 22929, 23006,
	23082, 23157, 23232, 23306, 23380, 23453, 23525, 23597, 23669, 23739, 23810, 23879,
	23949, 24017, 24085, 24153, 24220, 24286, 24352, 24418, 24483, 24547, 24611, 24675,
	24738, 24800, 24862, 24924, 24985, 25045, 25106, 25165, 25224, 25283, 25341, 25399,
	25456, 25513, 25570, 25626, 25681, 25737, 25791, 25846, 25899, 25953, 26006, 26059,
	26111, 26163, 26214, 26265, 26316, 26366, 26416, 26465, 26514, 26563, 26611, 26659,
	26707, 26754, 26801, 26847, 26893, 26939, 26984, 27029, 27074, 27118, 27162, 27206,
	27249, 27292, 27335, 27377, 27419, 27460, 27502, 27543, 27583, 27624, 27664, 27703,
	27743, 27782, 27821, 27859, 27897, 27935, 27973, 28010, 28047, 28084, 28121, 28157,
	28193, 28228, 28263, 28299, 28333, 28368, 28402, 28436, 28470, 28503, 28536, 28569,
	28602, 28634, 28667, 28699, 28730, 28762, 28793, 28824, 28854, 28885, 28915, 28945,
	28975, 29004, 29034, 29063, 29092, 29120, 29149, 29177, 29205, 29232, 29260, 29287,
	29314, 29341, 29368, 29394, 29421, 29447, 29472, 29498, 29524, 29549, 29574, 29599,
	29623, 29648, 29672, 29696, 29720, 29744, 29767, 29791, 29814, 29837, 29860, 29882,
	29905, 29927, 29949, 29971, 29993, 30014, 30036, 30057, 30078, 30099, 30120, 30141,
	30161, 30181, 30201, 30221, 30241, 30261, 30280, 30300, 30319, 30338, 30357, 30376,
	30394, 30413, 30431, 30449, 30467, 30485, 30503, 30521, 30538, 30555, 30573, 30590,
	30607, 30624, 30640, 30657, 30673, 30690, 30706, 30722, 30738, 30753, 30769, 30785,
	30800, 30815, 30831, 30846, 30861, 30876, 30890, 30905, 30919, 30934, 30948, 30962,
	30976, 30990, 31004, 31018, 31031, 31045, 31058, 31072, 31085, 31098, 31111, 31124,
	31137, 31149, 31162, 31174, 31187, 31199, 31211, 31223, 31235, 31247, 31259, 31271,
	31283, 31294, 31306, 31317, 31328, 31339, 31351, 31362, 31373, 31383, 31394, 31405,
	31416, 31426, 31436, 31447, 31457, 31467, 31477, 31487, 31497, 31507, 31517, 31527,
	31537, 31546, 31556, 31565, 31574, 31584, 31593, 31602, 31611, 31620, 31629, 31638,
	31647, 31655, 31664, 31673, 31681, 31690, 31698, 31706, 31715, 31723, 31731, 31739,
	31747, 31755, 31763, 31771, 31778, 31786, 31794, 31801, 31809, 31816, 31824, 31831,
	31838, 31846, 31853, 31860, 31867, 31874, 31881, 31888, 31895, 31902, 31908, 31915,
	31922, 31928, 31935, 31941, 31948, 31954, 31960, 31967, 31973, 31979, 31985, 31991,
	31997, 32003, 32009, 32015, 32021, 32027, 32033, 32038, 32044, 32050, 32055, 32061,
	32066, 32072, 32077, 32083, 32088, 32093, 32098, 32104, 32109, 32114, 32119, 32124,
	32129, 32134, 32139, 32144, 32149, 32154, 32158, 32163, 32168, 32173, 32177, 32182,
	32186, 32191, 32195, 32200, 32204, 32209, 32213, 32217, 32222, 32226, 32230, 32234,
	32238, 32242, 32247, 32251, 32255, 32259, 32263, 32267, 32270, 32274, 32278, 32282,
	32286, 32290, 32293, 32297, 32301, 32304, 32308, 32311, 32315, 32318, 32322, 32325,
	32329, 32332, 32336, 32339, 32342, 32346, 32349, 32352, 32356, 32359, 32362, 32365,
	32368, 32371, 32374, 32377, 32381, 32384, 32387, 32389, 32392, 32395, 32398, 32401,
	32404, 32407, 32410, 32412, 32415, 32418, 32421, 32423, 32426, 32429, 32431, 32434,
	32437, 32439, 32442, 32444, 32447, 32449, 32452, 32454, 32457, 32459, 32461, 32464,
	32466, 32469, 32471, 32473, 32476, 32478, 32480, 32482, 32485, 32487, 32489, 32491,
	32493, 32495, 32497, 32500, 32502, 32504, 32506, 32508, 32510, 32512, 32514, 32516,
	32518, 32520, 32522, 32524, 32526, 32527, 32529, 32531, 32533, 32535, 32537, 32538,
	32540, 32542, 32544, 32545, 32547,
};

static __always_inline struct kh_cdg *cdg_ca(struct sock *sk)
{
	return khcc_priv(sk);
}

static __always_inline struct cdg *cdg_data(struct sock *sk)
{
	return khelp_data_of(kh_cdg, sk);
}

SEC("struct_ops")
void BPF_PROG(kh_cdg_init, struct sock *sk)
{
	const struct khelp_cgrp_cfg *cfg = khelp_cc_cfg(sk);
	struct kh_cdg *ca = cdg_ca(sk);
	struct khelp_data_kh_cdg *v;
	struct cdg *d;

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->alpha_inc = khelp_cc_param(cfg, alpha_inc);
	ca->beta_delay = khelp_cc_param(cfg, beta_delay);
	ca->beta_loss = khelp_cc_param(cfg, beta_loss);
	ca->exp_backoff_scale = khelp_cc_param(cfg, exp_backoff_scale);
	ca->consec_cong = khelp_cc_param(cfg, loss_compete_consec_cong);
	ca->hold_backoff = khelp_cc_param(cfg, loss_compete_hold_backoff);

	v = bpf_sk_storage_get(&khelp_data_kh_cdg, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!v)
		return;		/* no memory: NewReno behaviour */
	__builtin_memset(v, 0, sizeof(*v));
	v->kh.container_id = cfg ? cfg->container_id : 0;
	v->kh.created_ns = bpf_ktime_get_ns();
	d = &v->d;
	d->sample_q_size = khcc_min((__u32)khelp_cc_param(cfg, smoothing_factor),
				    (__u32)CDG_MAX_SAMPLES);
	d->queue_state = CDG_Q_UNKNOWN;
	d->minrtt_in_rtt = CDG_RTT_INF;
	/* cdg_conn_init(): maybe competing with loss-based flows from the start. */
	d->shadow_w = khcc_tp(sk)->snd_cwnd;
}

SEC("struct_ops")
void BPF_PROG(kh_cdg_release, struct sock *sk)
{
	bpf_sk_storage_delete(&khelp_data_kh_cdg, sk);
}

/* FreeBSD IN_RECOVERY(): Linux's recovery states or our delay recovery. */
static __always_inline int cdg_in_recovery(struct sock *sk, const struct kh_cdg *ca)
{
	return (ca->flags & CDG_DELAY_RECOVERY) || khcc_in_recovery(sk);
}

/* cdg_window_decrease(): min(wnd, w) * beta / 100, at least 2 packets. */
static __always_inline __u32 cdg_window_decrease(const struct tcp_sock *tp, __u32 w, __u32 beta)
{
	__u32 win = khcc_min(tp->snd_wnd / khcc_mss(tp), w);

	return khcc_max((__u32)(((__u64)win * beta) / 100), 2U);
}

/* Prob_backoff = 1 - exp(-qtrend / exp_backoff_scale), qtrend > 0. */
static __always_inline int cdg_prob_backoff(const struct kh_cdg *ca, __s32 qtrend)
{
	__u32 scale = ca->exp_backoff_scale ? ca->exp_backoff_scale : 1;
	__u64 q = qtrend, p;
	__u32 idx;

	if (q > (((__u64)CDG_MAXGRAD * scale) << CDG_D_P_E))
		return 1;
	idx = scale > 1 ? (__u32)((q + scale / 2) / scale) : (__u32)q;
	if (idx > CDG_MAXGRAD * (1 << CDG_D_P_E))
		idx = CDG_MAXGRAD * (1 << CDG_D_P_E);
	p = (__u64)(KHCC_RANDOM_MAX >> CDG_EXP_PREC) * probexp[idx];
	return khcc_random() < p;
}

/*
 * Moving average of the last sample_q_size gradients: the sum of the
 * samples kept, divided by sample_q_size (also while the queues fill, as
 * FreeBSD). FreeBSD updates the average incrementally, trend += (new -
 * oldest) / n; its gradients are whole ticks << 7, so with the default n = 8
 * that division is exact. Ours come from us and are not multiples of n: the
 * truncation of every step would add up (a trend stuck at 7 while every
 * sample was 15, or below 0 while the queue grew), so the sum is kept.
 */
static __always_inline void cdg_moving_average(struct cdg *d, __s32 qdiff_max, __s32 qdiff_min)
{
	__u32 n = d->sample_q_size, idx;

	if (!n || n > CDG_MAX_SAMPLES)
		return;
	d->num_samples++;
	if (d->num_samples > n) {
		/* Replace the oldest sample. */
		idx = d->q_head & (CDG_MAX_SAMPLES - 1);
		d->qdiffmin_sum -= d->qdiffmin_q[idx];
		d->qdiffmax_sum -= d->qdiffmax_q[idx];
		d->q_head = d->q_head + 1 >= n ? 0 : d->q_head + 1;
		d->num_samples--;
	} else {
		idx = (d->num_samples - 1) & (CDG_MAX_SAMPLES - 1);
	}
	d->qdiffmin_q[idx] = qdiff_min;
	d->qdiffmax_q[idx] = qdiff_max;
	d->qdiffmin_sum += qdiff_min;
	d->qdiffmax_sum += qdiff_max;
	d->min_qtrend = (__s32)khcc_sdiv(d->qdiffmin_sum, n);
	d->max_qtrend = (__s32)khcc_sdiv(d->qdiffmax_sum, n);
}

/* RTT difference in us -> gradient in FreeBSD's unit (ms << D_P_E). */
static __always_inline __s32 cdg_qdiff(__u32 now_us, __u32 prev_us)
{
	return (__s32)khcc_sdiv(((__s64)now_us - (__s64)prev_us) << CDG_D_P_E, 1000);
}

/* Once per RTT: gradients, backoff decision, queue state. */
static __always_inline int cdg_new_measurement(struct sock *sk, struct kh_cdg *ca, struct cdg *d)
{
	int slowstart = khcc_fbsd_slow_start(khcc_tp(sk));
	int congestion = 0;
	__s32 qdiff_max, qdiff_min;

	if (d->maxrtt_in_prevrtt) {
		qdiff_max = cdg_qdiff(d->maxrtt_in_rtt, d->maxrtt_in_prevrtt);
		qdiff_min = cdg_qdiff(d->minrtt_in_rtt, d->minrtt_in_prevrtt);
		if (d->sample_q_size == 0) {
			d->max_qtrend = qdiff_max;
			d->min_qtrend = qdiff_min;
		} else {
			cdg_moving_average(d, qdiff_max, qdiff_min);
		}

		/* Probabilistic backoff with respect to the gradient. */
		if (slowstart && qdiff_min > 0)
			congestion = cdg_prob_backoff(ca, qdiff_min);
		else if (d->min_qtrend > 0)
			congestion = cdg_prob_backoff(ca, d->min_qtrend);
		else if (slowstart && qdiff_max > 0)
			congestion = cdg_prob_backoff(ca, qdiff_max);
		else if (d->max_qtrend > 0)
			congestion = cdg_prob_backoff(ca, d->max_qtrend);

		/* Estimate of the queue state. */
		if (d->min_qtrend > 0 && d->max_qtrend <= 0) {
			d->queue_state = CDG_Q_FULL;
		} else if (d->min_qtrend >= 0 && d->max_qtrend < 0) {
			d->queue_state = CDG_Q_EMPTY;
			d->shadow_w = 0;
		} else if (d->min_qtrend > 0 && d->max_qtrend > 0) {
			d->queue_state = CDG_Q_RISING;
		} else if (d->min_qtrend < 0 && d->max_qtrend < 0) {
			d->queue_state = CDG_Q_FALLING;
		}
		if (d->min_qtrend < 0 || d->max_qtrend < 0)
			d->consec_cong_cnt = 0;
		khcc_dbg("kh_cdg: rtt min %u max %u qdiff %d %d qtrend %d %d state %u cwnd %u cong %d",
			 d->minrtt_in_rtt, d->maxrtt_in_rtt, qdiff_min, qdiff_max, d->min_qtrend,
			 d->max_qtrend, d->queue_state, khcc_tp(sk)->snd_cwnd, congestion);
	}
	d->minrtt_in_prevrtt = d->minrtt_in_rtt;
	d->minrtt_in_rtt = CDG_RTT_INF;
	d->maxrtt_in_prevrtt = d->maxrtt_in_rtt;
	d->maxrtt_in_rtt = 0;
	return congestion;
}

/* Every ACK: cdg_ack_received() measurement and delay backoff. */
SEC("struct_ops")
void BPF_PROG(kh_cdg_in_ack_event, struct sock *sk, __u32 flags)
{
	struct kh_cdg *ca = cdg_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct ertt *e;
	struct cdg *d;
	int congestion = 0;

	ca->flags &= ~(CDG_ECE | CDG_CONGESTION_ACK | CDG_NEW_MEASUREMENT | CDG_HAVE_ERTT);
	if (flags & CA_ACK_ECE)
		ca->flags |= CDG_ECE;
	if ((ca->flags & CDG_DELAY_RECOVERY) && !khcc_before(tp->snd_una, ca->recover_seq))
		ca->flags &= ~CDG_DELAY_RECOVERY;

	d = cdg_data(sk);
	e = khelp_data_of(h_ertt, sk);
	if (!d || !e)
		return;
	ca->flags |= CDG_HAVE_ERTT;
	if (e->rtt_us) {
		d->maxrtt_in_rtt = khcc_max(e->rtt_us, d->maxrtt_in_rtt);
		d->minrtt_in_rtt = khcc_min(e->rtt_us, d->minrtt_in_rtt);
	}
	if (e->flags & ERTT_NEW_MEASUREMENT) {
		congestion = cdg_new_measurement(sk, ca, d);
		e->flags &= ~ERTT_NEW_MEASUREMENT;
		ca->flags |= CDG_NEW_MEASUREMENT;
	}
	if (!congestion)
		return;

	ca->flags |= CDG_CONGESTION_ACK;
	d->consec_cong_cnt++;
	if (cdg_in_recovery(sk, ca))
		return;
	if (d->consec_cong_cnt <= ca->consec_cong) {
		/* CC_CDG_DELAY */
		tp->snd_ssthresh = cdg_window_decrease(tp, tp->snd_cwnd, ca->beta_delay);
		khcc_set_cwnd(tp, tp->snd_ssthresh);
		ca->recover_seq = tp->snd_nxt;
		ca->flags |= CDG_DELAY_RECOVERY;
		d->window_incr = 0;
		d->rtt_count = 0;
		d->backoffs++;
		khcc_dbg("kh_cdg: backoff cwnd %u min_qtrend %d max_qtrend %d", tp->snd_cwnd,
			 d->min_qtrend, d->max_qtrend);
	} else if (d->consec_cong_cnt >= ca->consec_cong + ca->hold_backoff) {
		/* The queue does not fall: loss-based competitors; hold back. */
		d->consec_cong_cnt = 0;
	}
	/* The effect shows in the second RTT only. */
	d->maxrtt_in_prevrtt = 0;
	/* Resync the shadow window in case a loss-based flow competes. */
	d->shadow_w = khcc_max(tp->snd_cwnd, d->shadow_w);
}

/* cdg_window_increase() */
SEC("struct_ops")
void BPF_PROG(kh_cdg_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct kh_cdg *ca = cdg_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	__u32 incr = 0, s_w_incr = 0, maxwin;
	struct cdg *d;

	if (!(ca->flags & CDG_HAVE_ERTT)) {
		khcc_newreno_increase(sk, acked);
		return;
	}
	/* FreeBSD's CDG has no CCF_CWND_LIMITED test: it grows on every ACK. */
	if (ca->flags & CDG_CONGESTION_ACK)
		return;
	d = cdg_data(sk);
	if (!d)
		return;

	if (khcc_fbsd_slow_start(tp)) {
		/* One packet per ACK. */
		incr = 1;
		s_w_incr = 1;
		d->window_incr = 0;
		d->rtt_count = 0;
	} else if (ca->flags & CDG_NEW_MEASUREMENT) {
		/* Once per RTT. */
		s_w_incr = 1;
		if (ca->alpha_inc == 0) {
			incr = 1;
		} else {
			if (++d->rtt_count >= ca->alpha_inc) {
				d->window_incr++;
				d->rtt_count = 0;
			}
			incr = d->window_incr;
		}
	}
	/* at most TCP_MAXWIN << snd_scale, as FreeBSD */
	maxwin = khcc_fbsd_maxwin(tp);
	if (d->shadow_w > 0)
		d->shadow_w = khcc_min(d->shadow_w + s_w_incr, maxwin);
	if (incr)
		khcc_set_cwnd(tp, khcc_min(tp->snd_cwnd + incr, maxwin));
}

/* cong_signal(CC_NDUPACK): loss counts only when the queue is thought full. */
SEC("struct_ops")
__u32 BPF_PROG(kh_cdg_ssthresh, struct sock *sk)
{
	struct kh_cdg *ca = cdg_ca(sk);
	struct tcp_sock *tp = khcc_tp(sk);
	struct cdg *d = cdg_data(sk);
	__u32 ss;

	if (!d || !(ca->flags & CDG_HAVE_ERTT) || (ca->flags & CDG_ECE)) {
		/* CC_ECN, or no measurements: NewReno. */
		if (d)
			d->saved_shadow_w = d->shadow_w;
		return khcc_newreno_cwin(tp->snd_cwnd, CDG_NEWRENO_BETA);
	}
	d->saved_shadow_w = d->shadow_w;
	if ((ca->flags & CDG_DELAY_RECOVERY) || d->queue_state < CDG_Q_FULL) {
		/* Already responding to congestion, or no queue is full. */
		ss = tp->snd_cwnd;
	} else {
		/* Congestion loss: the shadow window reacts as NewReno would. */
		if (d->shadow_w > 0)
			d->shadow_w = cdg_window_decrease(tp, d->shadow_w, CDG_RENO_BETA);
		ss = khcc_max(d->shadow_w, cdg_window_decrease(tp, tp->snd_cwnd, ca->beta_loss));
		d->window_incr = 0;
		d->rtt_count = 0;
	}
	khcc_dbg("kh_cdg: loss queue_state %u cwnd %u ssthresh %u", d->queue_state,
		 tp->snd_cwnd, ss);
	return khcc_max(ss, 2U);
}

SEC("struct_ops")
void BPF_PROG(kh_cdg_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	struct cdg *d;

	/* CC_RTO: back to the shadow window saved at the last congestion signal */
	if (ev == CA_EVENT_LOSS && (d = cdg_data(sk)))
		d->shadow_w = d->saved_shadow_w;
	khcc_newreno_cwnd_event(sk, ev);
}

SEC("struct_ops")
__u32 BPF_PROG(kh_cdg_undo_cwnd, struct sock *sk)
{
	struct cdg *d = cdg_data(sk);

	if (d)
		d->shadow_w = d->saved_shadow_w;
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops kh_cdg = {
	.init		= (void *)kh_cdg_init,
	.release	= (void *)kh_cdg_release,
	.ssthresh	= (void *)kh_cdg_ssthresh,
	.cong_avoid	= (void *)kh_cdg_cong_avoid,
	.cwnd_event	= (void *)kh_cdg_cwnd_event,
	.in_ack_event	= (void *)kh_cdg_in_ack_event,
	.undo_cwnd	= (void *)kh_cdg_undo_cwnd,
	.name		= "kh_cdg",
};

KHELP_CC_MODULE(kh_cdg, "1.0.0", KHELP_F_NEEDS_DATA, struct cdg);
