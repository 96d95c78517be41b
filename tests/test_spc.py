"""queries/spc.py against published data with an independent implementation's results, against the published
unit tests of NHSRplotthedots' rules, and by properties that fail when the method is wrong.

Every expected number below comes from outside this project, and its source is given where it is used.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from queries.spc import (
    MINIMUM_POINTS,
    RULES,
    SHIFT_POINTS,
    TREND_POINTS,
    VARIATIONS,
    control_chart,
    laney_sigma_z,
    latest_variation,
    p_chart_limits,
    rule_signals,
    shift_points,
    trend_points,
    two_of_three_points,
)

# ---- Laney's p′ chart: published data, qicharts2's results ------------------------------------------------------

# Attendances at major A&E departments in England seen within 4 hours, over 20 weeks (r of n), from Mohammed MA,
# Panesar JS, Laney DB, Wilson R (2013), BMJ Qual Saf 22:362–368; shipped with qicharts2 as `nhs_accidents`.
NHS_SEEN = [266501, 264225, 276532, 281461, 269071, 261215, 270409, 279778, 270483, 270320, 267923, 271478, 255353,
            256820, 261835, 259144, 255910, 260863, 264465, 260989]
NHS_ATTENDANCES = [280443, 276823, 291681, 296155, 282343, 275888, 283867, 295251, 284468, 282529, 279618, 283932,
                   266629, 268091, 276803, 271578, 266005, 273520, 278574, 273772]
# qicharts2 0.8.1 `qic(i, r, n, data = nhs_accidents, chart = "pp" | "p", return.data = TRUE)`: cl, lcl, lcl.95,
# ucl.95 and ucl, as recorded in the test fixtures of AUS-DOH-Safety-and-Quality/PowerBI-SPC (test/fixtures/
# qicharts2.ts, cases "nhs pp", "nhs pp screened" — identical: no moving range is screened out — and "nhs p"),
# generated there by test/fixtures/qicharts2.R from the CRAN package.
NHS_CENTRE = 0.95289971134419116
NHS_PP = {
    "lcl": [0.9401296441775141, 0.94004641862513627, 0.9403780655785402, 0.94047300747792362, 0.94017268417608979,
            0.94002465678041103, 0.94020689402152513, 0.94045399796641838, 0.94022030926792188, 0.94017687421815865,
            0.94011081930595297, 0.94020834697566502, 0.93980301398912502, 0.9398387733905802, 0.94004595428549564,
            0.93992289402775664, 0.93978766173624928, 0.93996904398143111, 0.9400868775214295, 0.93997499652290417],
    "lcl95": [0.94438633323307308, 0.94433084953148783, 0.94455194750042382, 0.9446152421000128,
              0.94441502656545695, 0.94431634163500444, 0.94443783312908047, 0.94460256909234264,
              0.94444677662667831, 0.94441781992683616, 0.94437378331869903, 0.9444388017651737,
              0.94416857977414703, 0.94419241937511722, 0.94433053997172745, 0.94424849979990144,
              0.94415834493889661, 0.94427926643568449, 0.94435782212901676, 0.94428323479666654],
    "ucl95": [0.96141308945530923, 0.96146857315689449, 0.9612474751879585, 0.96118418058836952,
              0.96138439612292537, 0.96148308105337787, 0.96136158955930184, 0.96119685359603968,
              0.96135264606170401, 0.96138160276154616, 0.96142563936968328, 0.96136062092320862,
              0.96163084291423528, 0.9616070033132651, 0.96146888271665487, 0.96155092288848087,
              0.96164107774948571, 0.96152015625269782, 0.96144160055936556, 0.96151618789171578],
    "ucl": [0.96566977851086822, 0.96575300406324605, 0.96542135710984212, 0.9653264152104587, 0.96562673851229253,
            0.96577476590797129, 0.96559252866685719, 0.96534542472196394, 0.96557911342046043, 0.96562254847022366,
            0.96568860338242934, 0.96559107571271729, 0.96599640869925729, 0.96596064929780212, 0.96575346840288667,
            0.96587652866062568, 0.96601176095213304, 0.96583037870695121, 0.96571254516695282, 0.96582442616547814],
}
NHS_P = {
    "lcl": [0.95169956464601502, 0.95169174300572235, 0.95172291159637212, 0.95173183435343955, 0.95170360959828548,
            0.95168969780065393, 0.95170682468184831, 0.95173004781604953, 0.95170808546328811, 0.9517040033836186,
            0.95169779546131505, 0.9517069612322745, 0.95166886753714286, 0.95167222824989595, 0.95169169936650899,
            0.95168013401136442, 0.95166742471343968, 0.95168447124105948, 0.95169554538280965, 0.95168503066826537],
    "ucl": [0.9540998580423673, 0.95410767968265997, 0.95407651109201019, 0.95406758833494276, 0.95409581309009683,
            0.95410972488772838, 0.95409259800653401, 0.95406937487233279, 0.9540913372250942, 0.95409541930476371,
            0.95410162722706726, 0.95409246145610782, 0.95413055515123946, 0.95412719443848637, 0.95410772332187332,
            0.9541192886770179, 0.95413199797494264, 0.95411495144732283, 0.95410387730557267, 0.95411439202011694],
}


@pytest.mark.parametrize("screen", [False, True])
def test_laney_limits_reproduce_qicharts2_on_the_nhs_accident_data(screen) -> None:
    chart = p_chart_limits(NHS_SEEN, NHS_ATTENDANCES, "laney", screen_moving_ranges=screen)
    assert chart.centre == pytest.approx(NHS_CENTRE, rel=1e-15)
    for ours, theirs in ((chart.lower_3, "lcl"), (chart.lower_2, "lcl95"), (chart.upper_2, "ucl95"),
                         (chart.upper_3, "ucl")):
        np.testing.assert_allclose(ours, NHS_PP[theirs], rtol=1e-13)
    # σ_z as qicharts2's limits imply it: (ucl − cl) / (3 σ_pi) for the first week.
    implied = (NHS_PP["ucl"][0] - NHS_CENTRE) / (3 * math.sqrt(NHS_CENTRE * (1 - NHS_CENTRE) / NHS_ATTENDANCES[0]))
    assert chart.sigma_z == pytest.approx(implied, rel=1e-12)
    assert chart.sigma_z > 10  # strongly overdispersed: the reason Mohammed et al. use this example


def test_plain_p_chart_reproduces_qicharts2_and_is_too_narrow_for_the_nhs_data() -> None:
    chart = p_chart_limits(NHS_SEEN, NHS_ATTENDANCES, "p")
    assert chart.sigma_z == 1.0
    np.testing.assert_allclose(chart.lower_3, NHS_P["lcl"], rtol=1e-13)
    np.testing.assert_allclose(chart.upper_3, NHS_P["ucl"], rtol=1e-13)
    # Mohammed et al. (2013): with n near 280,000 most weeks fall outside the p-chart's limits, none outside p′'s.
    rates = np.array(NHS_SEEN) / np.array(NHS_ATTENDANCES)
    assert ((rates < chart.lower_3) | (rates > chart.upper_3)).sum() >= 15
    laney = p_chart_limits(NHS_SEEN, NHS_ATTENDANCES, "laney")
    assert not ((rates < laney.lower_3) | (rates > laney.upper_3)).any()


# ---- the whole chart on a series with every kind of signal: qicharts2 and NHSRplotthedots in R ------------------

# A made-up monthly series (36 months, about 300 births a month, an outlier in month 20 and a step up from month
# 25). Expected values: R 4.2.2 running the source of qicharts2's `qic.p` and `qic.pp` (anhoej/qicharts2
# R/helper.functions.R, commit 03470c09; `options(qic.screenedmr = FALSE | TRUE)`), then NHSRplotthedots'
# `ptd_special_cause_type` and `ptd_point_type` (nhs-r-community/NHSRplotthedots R/ptd_calculate_point_type.R, the
# version with `ptd_special_cause_type`; `.default =` written `TRUE ~` for Debian's dplyr 1.0.10) on those limits,
# with outside_limits, relative_to_mean and close_to_limits as its `ptd_spc_standard` defines them. "type" is
# `ptd_special_cause_type` written as the rule and side it names ("7 Points Below CL" -> "shift-").
SERIES_X = [41, 38, 45, 36, 44, 40, 47, 39, 42, 37, 43, 46, 40, 44, 38, 41, 45, 39, 42, 75, 43, 40, 44, 41,
            52, 55, 50, 54, 57, 53, 51, 56, 58, 55, 53, 57]
SERIES_N = [301, 287, 310, 295, 305, 299, 312, 290, 304, 293, 300, 308, 297, 306, 289, 302, 311, 296, 303, 309,
            298, 294, 307, 300, 305, 310, 296, 303, 312, 299, 301, 308, 311, 304, 297, 306]
SERIES_R = {
    "unscreened": {
        "centre": 0.154674273095326, "sigma_z": 0.663440762757484,
        "lcl": [
            0.113192124414285, 0.112192411156483, 0.11379871977292, 0.112772395526537, 0.113465036250045,
            0.113053619358852, 0.113929941791561, 0.112412716160627, 0.113397313547258, 0.112629628920168,
            0.113123045018088, 0.113666221683708, 0.112913717607242, 0.113532426706986, 0.112339662420821,
            0.113260860416238, 0.113864489008318, 0.112843235606901, 0.113329255859577, 0.113732631527142,
            0.112983844534116, 0.112701194323835, 0.113599487625874, 0.113123045018088, 0.113465036250045,
            0.11379871977292, 0.112843235606901, 0.113329255859577, 0.113929941791561, 0.113053619358852,
            0.113192124414285, 0.113666221683708, 0.113864489008318, 0.113397313547258, 0.112913717607242,
            0.113532426706986],
        "ucl": [
            0.196156421776366, 0.197156135034168, 0.195549826417731, 0.196576150664114, 0.195883509940606,
            0.196294926831799, 0.195418604399091, 0.196935830030024, 0.195951232643393, 0.196718917270483,
            0.196225501172563, 0.195682324506943, 0.196434828583409, 0.195816119483666, 0.19700888376983,
            0.196087685774413, 0.195484057182334, 0.196505310583751, 0.196019290331074, 0.19561591466351,
            0.196364701656536, 0.196647351866816, 0.195749058564778, 0.196225501172563, 0.195883509940606,
            0.195549826417731, 0.196505310583751, 0.196019290331074, 0.195418604399091, 0.196294926831799,
            0.196156421776366, 0.195682324506943, 0.195484057182334, 0.195951232643393, 0.196434828583409,
            0.195816119483666],
        "lcl95": [
            0.127019507307965, 0.126353031802764, 0.127423904213722, 0.126739688049467, 0.127201448531805,
            0.126927170604343, 0.127511385559482, 0.126499901805527, 0.127156300063281, 0.126644510311887,
            0.126973454377168, 0.127335572154248, 0.126833902769937, 0.127246375503099, 0.126451199312323,
            0.127065331309267, 0.127467750370654, 0.126786914769709, 0.127110928271493, 0.127379845383203,
            0.126880654054519, 0.126692220580999, 0.127291082782358, 0.126973454377168, 0.127201448531805,
            0.127423904213722, 0.126786914769709, 0.127110928271493, 0.127511385559482, 0.126927170604343,
            0.127019507307965, 0.127335572154248, 0.127467750370654, 0.127156300063281, 0.126833902769937,
            0.127246375503099],
        "ucl95": [
            0.182329038882686, 0.182995514387887, 0.181924641976929, 0.182608858141185, 0.182147097658846,
            0.182421375586308, 0.181837160631169, 0.182848644385125, 0.182192246127371, 0.182704035878764,
            0.182375091813484, 0.182012974036404, 0.182514643420715, 0.182102170687552, 0.182897346878329,
            0.182283214881384, 0.181880795819998, 0.182561631420942, 0.182237617919158, 0.181968700807448,
            0.182467892136133, 0.182656325609653, 0.182057463408294, 0.182375091813484, 0.182147097658846,
            0.181924641976929, 0.182561631420942, 0.182237617919158, 0.181837160631169, 0.182421375586308,
            0.182329038882686, 0.182012974036404, 0.181880795819998, 0.182192246127371, 0.182514643420715,
            0.182102170687552],
        "type": [
            "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-",
            "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-", "shift-",
            "outside_limits+", "", "", "", "", "shift+", "shift+", "shift+", "shift+", "shift+", "shift+", "shift+",
            "shift+", "shift+", "shift+", "shift+", "shift+"],
    },
    "screened": {
        "centre": 0.154674273095326, "sigma_z": 0.439601073786811,
        "lcl": [
            0.127187874720622, 0.12652545684358, 0.127589809581998, 0.126909759054369, 0.12736870825209,
            0.127096100180209, 0.127676758324881, 0.126671432674158, 0.127323834655929, 0.126815160776748,
            0.127142102168724, 0.127502015304706, 0.127003400177911, 0.127413361699537, 0.126623026690887,
            0.12723341973679, 0.127633388795284, 0.126956698249461, 0.127278739096139, 0.127546018989921,
            0.127049866831884, 0.126862580576772, 0.127457796792476, 0.127142102168724, 0.12736870825209,
            0.127589809581998, 0.126956698249461, 0.127278739096139, 0.127676758324881, 0.127096100180209,
            0.127187874720622, 0.127502015304706, 0.127633388795284, 0.127323834655929, 0.127003400177911,
            0.127413361699537],
        "ucl": [
            0.182160671470029, 0.182823089347071, 0.181758736608654, 0.182438787136282, 0.181979837938561,
            0.182252446010442, 0.181671787865771, 0.182677113516494, 0.182024711534723, 0.182533385413904,
            0.182206444021928, 0.181846530885945, 0.182345146012741, 0.181935184491114, 0.182725519499764,
            0.182115126453861, 0.181715157395368, 0.18239184794119, 0.182069807094513, 0.18180252720073,
            0.182298679358767, 0.182485965613879, 0.181890749398176, 0.182206444021928, 0.181979837938561,
            0.181758736608654, 0.18239184794119, 0.182069807094513, 0.181671787865771, 0.182252446010442,
            0.182160671470029, 0.181846530885945, 0.181715157395368, 0.182024711534723, 0.182345146012741,
            0.181935184491114],
        "lcl95": [
            0.13635000751219, 0.135908395594162, 0.13661796408644, 0.136164597068022, 0.136470563199835,
            0.136288824485248, 0.136675929915029, 0.136005712814547, 0.136440647469061, 0.136101531549607,
            0.136319492477591, 0.136559434568246, 0.136227024483716, 0.1365003321648, 0.135973442159034,
            0.136380370856302, 0.136647016895298, 0.136195889864749, 0.136410583762534, 0.136588770358389,
            0.136258002253031, 0.136133144749624, 0.136529955560092, 0.136319492477591, 0.136470563199835,
            0.13661796408644, 0.136195889864749, 0.136410583762534, 0.136675929915029, 0.136288824485248,
            0.13635000751219, 0.136559434568246, 0.136647016895298, 0.136440647469061, 0.136227024483716,
            0.1365003321648],
        "ucl95": [
            0.172998538678461, 0.173440150596489, 0.172730582104211, 0.17318394912263, 0.172877982990816,
            0.173059721705403, 0.172672616275622, 0.173342833376104, 0.172907898721591, 0.173247014641044,
            0.17302905371306, 0.172789111622405, 0.173121521706936, 0.172848214025851, 0.173375104031618,
            0.172968175334349, 0.172701529295354, 0.173152656325902, 0.172937962428117, 0.172759775832262,
            0.17309054393762, 0.173215401441028, 0.172818590630559, 0.17302905371306, 0.172877982990816,
            0.172730582104211, 0.173152656325902, 0.172937962428117, 0.172672616275622, 0.173059721705403,
            0.172998538678461, 0.172789111622405, 0.172701529295354, 0.172907898721591, 0.173121521706936,
            0.172848214025851],
        "type": [
            "two_of_three-", "two_of_three-", "shift-", "outside_limits-", "shift-", "two_of_three-", "shift-",
            "two_of_three-", "shift-", "outside_limits-", "shift-", "shift-", "two_of_three-", "shift-",
            "two_of_three-", "two_of_three-", "shift-", "two_of_three-", "shift-", "outside_limits+", "", "", "",
            "", "shift+", "two_of_three+", "shift+", "two_of_three+", "outside_limits+", "two_of_three+", "shift+",
            "two_of_three+", "outside_limits+", "two_of_three+", "two_of_three+", "outside_limits+"],
    },
    "p": {
        "lcl": [
            0.0921484968547666, 0.0906416354830793, 0.0930628141422867, 0.0915158421984507, 0.0925598551117203,
            0.0919397290744187, 0.093260604248061, 0.0909736998006656, 0.0924577771168352, 0.0913006510097518,
            0.0920443739246201, 0.0928631006235379, 0.091728856062895, 0.0926614323145747, 0.0908635863679269,
            0.0922521021889749, 0.0931619476883235, 0.0916226189965314, 0.0923551942013719, 0.0929631997539519,
            0.0918345579293014, 0.0914085210829891, 0.0927625128068395, 0.0920443739246201, 0.0925598551117203,
            0.0930628141422867, 0.0916226189965314, 0.0923551942013719, 0.093260604248061, 0.0919397290744187,
            0.0921484968547666, 0.0928631006235379, 0.0931619476883235, 0.0924577771168352, 0.091728856062895,
            0.0926614323145747],
        "ucl": [
            0.217200049335885, 0.218706910707572, 0.216285732048365, 0.217832703992201, 0.216788691078931,
            0.217408817116233, 0.21608794194259, 0.218374846389986, 0.216890769073816, 0.2180478951809,
            0.217304172266031, 0.216485445567113, 0.217619690127756, 0.216687113876077, 0.218484959822725,
            0.217096444001677, 0.216186598502328, 0.21772592719412, 0.21699335198928, 0.2163853464367, 0.21751398826135,
            0.217940025107662, 0.216586033383812, 0.217304172266031, 0.216788691078931, 0.216285732048365,
            0.21772592719412, 0.21699335198928, 0.21608794194259, 0.217408817116233, 0.217200049335885,
            0.216485445567113, 0.216186598502328, 0.216890769073816, 0.217619690127756, 0.216687113876077],
        "lcl95": [
            0.112990422268286, 0.111985848020495, 0.113599967126633, 0.112568652497409, 0.113264661106255,
            0.112851243748054, 0.113731827197149, 0.112207224232219, 0.113196609109665, 0.112425191704943,
            0.112921006981522, 0.113466824780801, 0.112710661740372, 0.113332379241492, 0.11213381527706,
            0.113059492491092, 0.113666056157324, 0.112639837029463, 0.113128220499357, 0.11353355753441,
            0.11278112965131, 0.112497105087101, 0.113399766236335, 0.112921006981522, 0.113264661106255,
            0.113599967126633, 0.112639837029463, 0.113128220499357, 0.113731827197149, 0.112851243748054,
            0.112990422268286, 0.113466824780801, 0.113666056157324, 0.113196609109665, 0.112710661740372,
            0.113332379241492],
        "ucl95": [
            0.196358123922365, 0.197362698170157, 0.195748579064018, 0.196779893693242, 0.196083885084396,
            0.196497302442597, 0.195616718993502, 0.197141321958432, 0.196151937080986, 0.196923354485708,
            0.196427539209129, 0.195881721409851, 0.19663788445028, 0.19601616694916, 0.197214730913592,
            0.19628905369956, 0.195682490033327, 0.196708709161189, 0.196220325691295, 0.195814988656242,
            0.196567416539342, 0.19685144110355, 0.195948779954317, 0.196427539209129, 0.196083885084396,
            0.195748579064018, 0.196708709161189, 0.196220325691295, 0.195616718993502, 0.196497302442597,
            0.196358123922365, 0.195881721409851, 0.195682490033327, 0.196151937080986, 0.19663788445028,
            0.19601616694916],
    },
}
# `ptd_point_type(type, 1)` (higher is better), the same for both: I improvement, C concern, . common cause.
SERIES_HIGHER_IS_BETTER = "CCCCCCCCCCCCCCCCCCCI....IIIIIIIIIIII"
SERIES_HIGHER_IS_WORSE = "IIIIIIIIIIIIIIIIIIIC....CCCCCCCCCCCC"
LETTERS = {"improvement": "I", "concern": "C", "common_cause": "."}
# NHSRplotthedots names one rule per point, the first of these that applies (`ptd_special_cause_type`).
PRIORITY = ("outside_limits", "trend", "two_of_three", "shift")


def first_rule(signals, index: int) -> str:
    rule = next((rule for rule in PRIORITY if signals.rules(index).count(rule)), None)
    return "" if rule is None else rule + ("+" if signals.side[index] > 0 else "-")


@pytest.mark.parametrize("screened", [False, True])
def test_limits_and_signals_reproduce_qicharts2_and_nhsrplotthedots(screened) -> None:
    expected = SERIES_R["screened" if screened else "unscreened"]
    chart = p_chart_limits(SERIES_X, SERIES_N, "laney", screen_moving_ranges=screened)
    assert chart.centre == pytest.approx(expected["centre"], rel=1e-13)
    assert chart.sigma_z == pytest.approx(expected["sigma_z"], rel=1e-13)
    for ours, theirs in ((chart.lower_3, "lcl"), (chart.upper_3, "ucl"), (chart.lower_2, "lcl95"),
                         (chart.upper_2, "ucl95")):
        np.testing.assert_allclose(ours, expected[theirs], rtol=1e-13)
    args = (chart.rates, chart.centre, chart.lower_3, chart.upper_3, chart.lower_2, chart.upper_2)
    signals = rule_signals(*args, "higher_is_better")
    assert [first_rule(signals, i) for i in range(len(SERIES_X))] == expected["type"]
    assert "".join(LETTERS[v] for v in signals.variation) == SERIES_HIGHER_IS_BETTER
    worse = rule_signals(*args, "higher_is_worse")
    assert "".join(LETTERS[v] for v in worse.variation) == SERIES_HIGHER_IS_WORSE


def test_plain_p_chart_limits_reproduce_qicharts2() -> None:
    chart = p_chart_limits(SERIES_X, SERIES_N, "p")
    for ours, theirs in ((chart.lower_3, "lcl"), (chart.upper_3, "ucl"), (chart.lower_2, "lcl95"),
                         (chart.upper_2, "ucl95")):
        np.testing.assert_allclose(ours, SERIES_R["p"][theirs], rtol=1e-13)


# Values against fixed limits (centre 0, 2σ at ±2, 3σ at ±3) built to hold a rising trend that starts below the
# centre line, a tie that breaks a trend, points on the centre line, two of three beyond 2σ on opposite and on the
# same side, a point beyond 3σ next to one beyond 2σ, and a falling trend. Expected: NHSRplotthedots'
# `ptd_special_cause_type` and `ptd_point_type(type, 0)` in R 4.2.2, as above.
RULE_VALUES = [0.5, -0.5, 0.3, -0.2, -1.5, -1.0, -0.4, 0.2, 0.6, 1.1, 1.7, 0.1, 0.4, 0.4, 0.9, 1.2, 1.5, 1.8, 0,
               0.3, 0.5, 0.2, 0.8, 0.1, 0.6, 0, 2.5, -0.3, 2.4, -0.1, 2.2, 0.4, 2.6, -0.5, 3.5, 2.5, 0.3, -2.5, -2.1,
               -0.3, -0.2, -0.4, -0.6, -0.8, -1.0, -1.2, -1.4, -1.6]
RULE_TYPES = ([""] * 4 + ["trend+"] * 7 + ["shift+"] * 7 + [""] * 12 + ["two_of_three+", "", "two_of_three+", "",
              "outside_limits+", "", "", "two_of_three-", "two_of_three-", "shift-"] + ["trend-"] * 8)
RULE_NEUTRAL = "....HHHHHHHHHHHHHH............H.H.H..LLLLLLLLLLL"


def test_rules_reproduce_nhsrplotthedots_on_fixed_limits() -> None:
    count = len(RULE_VALUES)
    signals = rule_signals(RULE_VALUES, 0.0, [-3] * count, [3] * count, [-2] * count, [2] * count, "neutral")
    assert [first_rule(signals, i) for i in range(count)] == RULE_TYPES
    letters = {"higher": "H", "lower": "L", "common_cause": "."}
    assert "".join(letters[v] for v in signals.variation) == RULE_NEUTRAL
    # A trend is named by its direction, not its side: the rising trend starts below the centre line.
    assert RULE_VALUES[4] < 0 and signals.variation[4] == "higher"


# ---- NHSRplotthedots' own unit tests (tests/testthat/test-ptd_calculate_point_type.R) ---------------------------
# Their detectors mark where a run or trend ends (`ptd_seven_point_one_side_mean`, `ptd_seven_point_trend`);
# `ptd_part_of_seven_trend` then marks that point and the six before it. Our detectors mark the points a signal is
# made of, so each expected value below is theirs with the ends expanded that way.

@pytest.mark.parametrize(("side", "expected"), [
    ([1] * 6, [0] * 6),
    ([1] * 6 + [-1], [0] * 7),
    ([1] * 8 + [-1], [1] * 8 + [0]),
    ([-1] * 8 + [1], [1] * 8 + [0]),
    ([-1] + [1] * 8 + [-1], [0] + [1] * 8 + [0]),
    ([1] + [-1] * 8 + [1], [0] + [1] * 8 + [0]),
])
def test_shift_matches_nhsrplotthedots_tests(side, expected) -> None:
    assert shift_points(side).astype(int).tolist() == expected


@pytest.mark.parametrize(("values", "expected"), [
    (list(range(1, 7)), [0] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [0] * 7),
    (list(range(1, 8)), [1] * 7),
    ([2, *range(1, 8), 3], [0] + [1] * 7 + [0]),
    (list(range(7, 0, -1)), [1] * 7),
    ([2, *range(7, 0, -1), 3], [0] + [1] * 7 + [0]),
])
def test_trend_matches_nhsrplotthedots_tests(values, expected) -> None:
    assert trend_points(values).astype(int).tolist() == expected


@pytest.mark.parametrize(("close", "side", "expected"), [
    ([0, 0, 0], [0, 0, 0], [0, 0, 0]),
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    # points on opposite sides of the mean (their fix of issue #143)
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
])
def test_two_of_three_matches_nhsrplotthedots_tests(close, side, expected) -> None:
    assert two_of_three_points(side, close).astype(int).tolist() == expected


# ---- properties -------------------------------------------------------------------------------------------------

def test_shift_needs_seven_and_a_point_on_the_centre_line_breaks_it() -> None:
    assert SHIFT_POINTS == 7
    assert not shift_points([-1] + [1] * 6 + [-1]).any()  # exactly 6 above
    assert shift_points([-1] + [1] * 7 + [-1]).tolist() == [False] + [True] * 7 + [False]  # exactly 7
    assert not shift_points([1, 1, 1, 0, 1, 1, 1, 1]).any()  # 3 + 4 around a point on the line
    assert shift_points([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]).tolist() == [False] * 4 + [True] * 7
    assert not shift_points([0] * 9).any()  # on the line is on neither side


def test_trend_needs_six_rises_in_a_row_and_a_tie_breaks_it() -> None:
    assert TREND_POINTS == 7
    assert not trend_points([5, 1, 2, 3, 4, 5, 6, 0]).any()  # 6 points, 5 rises
    assert trend_points([5, 1, 2, 3, 4, 5, 6, 7, 0]).tolist() == [False] + [True] * 7 + [False]
    assert not trend_points([1, 2, 3, 4, 4, 5, 6, 7]).any()  # an equal neighbour in the middle
    assert trend_points([1, 2, 3, 3, 4, 5, 6, 7, 8, 9]).tolist() == [False] * 3 + [True] * 7
    assert trend_points([9, 8, 7, 6, 5, 4, 3]).all()
    assert not trend_points([5] * 9).any()  # equal values neither rise nor fall


def test_a_point_beyond_three_sigma_is_not_one_of_two_in_three() -> None:
    """NHSRplotthedots' close_to_limits leaves out points beyond 3σ: beyond 3σ and beyond 2σ is only rule 1."""
    signals = rule_signals([0.1, 3.5, 2.5, 0.2], 0.0, [-3] * 4, [3] * 4, [-2] * 4, [2] * 4, "higher_is_better")
    assert signals.outside_limits.tolist() == [False, True, False, False]
    assert not signals.two_of_three.any()
    assert signals.variation == ("common_cause", "improvement", "common_cause", "common_cause")


def test_a_point_on_a_limit_is_inside() -> None:
    signals = rule_signals([0.0, 3.0, -3.0, 2.0, 2.0, 0.5], 0.0, [-3] * 6, [3] * 6, [-2] * 6, [2] * 6, "neutral")
    assert not signals.outside_limits.any() and not signals.two_of_three.any()
    assert rule_signals([3.0000001], 0.0, [-3], [3], [-2], [2], "neutral").outside_limits.tolist() == [True]


def binomial_series(rng, count: int, proportion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = rng.integers(200, 2000, count)
    return rng.binomial(n, proportion), n


def test_laney_sigma_z_is_about_one_for_binomial_data() -> None:
    rng = np.random.default_rng(20020531)
    x, n = binomial_series(rng, 5000, np.full(5000, 0.25))
    chart = p_chart_limits(x, n, "laney")
    assert chart.sigma_z == pytest.approx(1.0, abs=0.04)  # the estimate's standard error is about 0.012 here
    plain = p_chart_limits(x, n, "p")
    np.testing.assert_allclose(chart.upper_3, plain.upper_3, rtol=0.01)


def test_laney_sigma_z_grows_with_overdispersion_and_keeps_stable_points_inside() -> None:
    rng = np.random.default_rng(2006)
    proportion = np.clip(rng.normal(0.25, 0.03, 240), 0, 1)  # the true rate itself varies from month to month
    x, n = binomial_series(rng, 240, proportion)
    chart = p_chart_limits(x, n, "laney")
    binomial_sd = math.sqrt(0.25 * 0.75 / n.mean())
    assert chart.sigma_z > 2 and chart.sigma_z == pytest.approx(math.hypot(0.03, binomial_sd) / binomial_sd,
                                                                rel=0.25)
    rates = x / n
    p_outside = ((rates > p_chart_limits(x, n, "p").upper_3) | (rates < p_chart_limits(x, n, "p").lower_3)).mean()
    laney_outside = ((rates > chart.upper_3) | (rates < chart.lower_3)).mean()
    # σ_z ≈ 2.5: the p-chart puts P(|Z| > 3/2.5) ≈ 23% of stable months outside, p′ about 0.3%.
    assert p_outside > 0.15 and laney_outside < 0.02


def test_screening_drops_the_moving_ranges_of_an_outlier() -> None:
    x = np.array([30, 31, 29, 30, 32, 30, 29, 31, 30, 95, 30, 31, 29, 30, 31, 30])
    n = np.full(16, 300)
    centre = x.sum() / n.sum()
    assert laney_sigma_z(x, n, centre, screen_moving_ranges=True) < laney_sigma_z(x, n, centre) / 3


def test_a_period_without_denominator_is_left_out() -> None:
    x, n = np.array(SERIES_X[:20], dtype=float), np.array(SERIES_N[:20], dtype=float)
    gap_x, gap_n = np.insert(x, 10, 0), np.insert(n, 10, 0)
    chart, with_gap = p_chart_limits(x, n), p_chart_limits(gap_x, gap_n)
    assert with_gap.centre == chart.centre and with_gap.points == 20
    assert math.isnan(with_gap.rates[10]) and math.isnan(with_gap.upper_3[10]) and math.isnan(with_gap.lower_2[10])
    np.testing.assert_allclose(np.delete(with_gap.upper_3, 10) - chart.centre,
                               (chart.upper_3 - chart.centre) * with_gap.sigma_z / chart.sigma_z)
    # The moving ranges on both sides of the gap are left out, the others kept: the mean of 18 of the 19.
    z = (x / n - chart.centre) / np.sqrt(chart.centre * (1 - chart.centre) / n)
    ranges = np.abs(np.diff(z))
    assert with_gap.sigma_z == pytest.approx(np.delete(ranges, 9).mean() / 1.128, rel=1e-12)
    # The rules skip the gap: a run of 4 + 3 points above the centre line around it is a shift.
    above = [0.3] * 4 + [math.nan] + [0.3] * 3
    signals = rule_signals(above, 0.2, [0.0] * 8, [1.0] * 8, [0.0] * 8, [1.0] * 8, "neutral")
    assert signals.shift.tolist() == [True] * 4 + [False] + [True] * 3
    assert signals.variation[4] is None and signals.rules(4) == []


def test_too_few_points_or_no_events_do_not_crash() -> None:
    short = control_chart(["2024-01", "2024-02", "2024-03"], [3, 4, 2], [40, 38, 41], "higher_is_worse")
    assert not short["enough_points"] and short["points_with_data"] == 3 and short["minimum_points"] == MINIMUM_POINTS
    assert short["sigma_z"] is not None
    single = p_chart_limits([3], [40])
    assert math.isnan(single.sigma_z) and math.isnan(single.upper_3[0])
    empty = control_chart(["2024-01", "2024-02"], [0, 0], [0, 0], "neutral")
    assert empty["centre"] is None and empty["latest_variation"] is None
    assert [point["variation"] for point in empty["points"]] == [None, None]
    none_happened = p_chart_limits([0] * 14, [50] * 14)
    assert none_happened.centre == 0 and (none_happened.upper_3 == 0).all()
    assert set(rule_signals(none_happened.rates, 0.0, none_happened.lower_3, none_happened.upper_3,
                            none_happened.lower_2, none_happened.upper_2, "neutral").variation) == {"common_cause"}
    json.dumps(short, allow_nan=False)
    json.dumps(empty, allow_nan=False)


def test_widen_only_never_narrows_below_the_p_chart() -> None:
    chart = p_chart_limits(SERIES_X, SERIES_N, "laney", widen_only=True)  # σ_z is 0.66 for this series
    np.testing.assert_allclose(chart.upper_3, p_chart_limits(SERIES_X, SERIES_N, "p").upper_3)
    nhs = p_chart_limits(NHS_SEEN, NHS_ATTENDANCES, "laney", widen_only=True)
    np.testing.assert_allclose(nhs.upper_3, NHS_PP["ucl"], rtol=1e-13)


def test_the_answer_names_rules_and_variations_from_their_lists() -> None:
    periods = [f"2023-{month:02d}" for month in range(1, 13)] + [f"2024-{month:02d}" for month in range(1, 13)]
    answer = control_chart(periods, SERIES_X[12:], SERIES_N[12:], "higher_is_better")
    assert answer["enough_points"] and answer["method"] == "laney"
    assert {rule for point in answer["points"] for rule in point["rules"]} <= set(RULES)
    assert {point["variation"] for point in answer["points"]} <= set(VARIATIONS)
    assert answer["latest_variation"] == answer["points"][-1]["variation"]
    signals = rule_signals([0.1, 0.5], 0.2, [0.0] * 2, [0.4] * 2, [0.0] * 2, [0.3] * 2, "higher_is_worse")
    assert latest_variation(signals) == "concern"
    with pytest.raises(ValueError, match="direction"):
        rule_signals([0.1], 0.2, [0.0], [0.4], [0.0], [0.3], "up")
    with pytest.raises(ValueError, match="method"):
        p_chart_limits([1], [2], "u")  # type: ignore[arg-type]


def test_a_rare_outcome_gets_no_signals_from_months_that_are_mostly_zero():
    """2 per 1,000 in 100 births a month: most months have no event, and seven such months in a row would be a
    "shift" by the rules. Below MINIMUM_EXPECTED_EVENTS expected events a month the chart signals nothing."""
    from queries.spc import MINIMUM_EXPECTED_EVENTS, control_chart

    periods = [f"2023-{month:02d}" for month in range(1, 13)] + [f"2024-{month:02d}" for month in range(1, 13)]
    rare = control_chart(periods, [0] * 8 + [1] + [0] * 14 + [2], [100] * 24, "higher_is_worse")
    assert rare["expected_events"] == pytest.approx(3 / 24) and rare["expected_events"] < MINIMUM_EXPECTED_EVENTS
    assert not rare["frequent_enough"] and rare["latest_variation"] is None
    assert all(point["rules"] == [] and point["variation"] is None for point in rare["points"])
    common = control_chart(periods, [20] * 8 + [40] + [20] * 15, [100] * 24, "higher_is_worse")
    assert common["frequent_enough"] and common["points"][8]["rules"] == ["outside_limits"]
