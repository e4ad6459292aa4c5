"Tests of jsdlib.evaluate: every metric against scikit-learn, degenerate input, thresholds from val, the CLI and the widget."
import contextlib, io, json, re
import numpy as np, pandas as pd, pytest
from sklearn import metrics as skm

from jsdlib.core import JsdError
from jsdlib.evaluate import (frame_metrics, evaluate_scores, choose_threshold, smooth_scores, bootstrap_runs, detection_delay,
                             synth_scores, make_fake_run, evaluate_runs, read_run_scores, threshold_explorer, check_score_frame)
from jsdlib.cli import main


@pytest.mark.parametrize('seed', range(5))
def test_frame_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    y = (rng.random(n) < rng.uniform(0.05, 0.9)).astype(int); y[0], y[1] = 0, 1
    s = np.round(rng.random(n), 2)                       # many ties
    for t in (0.0, 0.3, 0.5, float(s[2]), 1.0):
        m, p = frame_metrics(y, s, t), (s >= t).astype(int)
        assert m['accuracy'] == pytest.approx(skm.accuracy_score(y, p), abs=1e-12)
        if p.any(): assert m['precision'] == pytest.approx(skm.precision_score(y, p), abs=1e-12)
        else: assert np.isnan(m['precision'])
        assert m['recall'] == pytest.approx(skm.recall_score(y, p), abs=1e-12)
        assert m['f1'] == pytest.approx(skm.f1_score(y, p), abs=1e-12)
        assert m['roc_auc'] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        assert m['ap'] == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


def test_degenerate_input():
    with pytest.raises(JsdError, match='3 scores for 2 labels'): frame_metrics([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(JsdError, match='NaN score'): frame_metrics([0, 1], [0.1, float('nan')])
    with pytest.raises(JsdError, match='0/1'): frame_metrics([0, 3], [0.1, 0.2])
    m, why = frame_metrics([0, 0, 0], [0.2, 0.6, 0.1], 0.5, with_reasons=True)
    assert np.isnan(m['roc_auc']) and np.isnan(m['ap']) and np.isnan(m['recall']) and why['roc_auc'] == 'only normal frames'
    with pytest.raises(JsdError, match='only normal'): choose_threshold([0, 0], [0.1, 0.2], 'youden')
    df = synth_scores(3, 10).drop(columns='score')
    with pytest.raises(JsdError, match='missing column'): check_score_frame(df)


def test_macro_excludes_single_class_videos_and_reports_them():
    df = synth_scores(10, 40, seed=3, p_anomalous=0.3)
    r = evaluate_scores(df, 0.5)
    both = [g for _, g in df.groupby('video') if g.label.nunique() == 2]
    assert r['macro_excluded']['roc_auc'] == df.video.nunique() - len(both) > 0
    assert r['macro']['roc_auc'] == pytest.approx(np.mean([skm.roc_auc_score(g.label, g.score) for g in both]), abs=1e-12)
    only_normal = df[df.video.isin(df.groupby('video').label.max().loc[lambda x: x == 0].index)]
    r0 = evaluate_scores(only_normal, 0.5)
    assert np.isnan(r0['macro']['roc_auc']) and 'macro/roc_auc' in r0['undefined'] and 'micro/roc_auc' in r0['undefined']


def test_smoothing_applies_per_video():
    df = synth_scores(4, 30, seed=1)
    a = smooth_scores(df, 2.0)
    shuffled = smooth_scores(df.sample(frac=1, random_state=0), 2.0)     # row order does not matter
    np.testing.assert_allclose(a.score.to_numpy(), shuffled.score.to_numpy())
    assert not np.allclose(a.score, df.score)


def test_thresholds_chosen_on_val_and_paired_bootstrap(tmp_path):
    a = make_fake_run(tmp_path/'base', 'baseline', 8, 30, score_seed=1, separation=1.0)
    b = make_fake_run(tmp_path/'jsd', 'jsd', 8, 30, score_seed=2, separation=3.0)
    res = evaluate_runs([a, b], method='recall', target_recall=0.8, n_boot=30)
    for run in (a, b):
        val, test = read_run_scores(run, 'val'), read_run_scores(run, 'test')
        e = res['runs'][run.name]['chosen']
        assert e['threshold'] == choose_threshold(val.label, val.score, 'recall', 0.8)
        assert skm.recall_score(val.label, val.score >= e['threshold']) >= 0.8
        assert e['metrics']['micro/recall']['value'] == pytest.approx(skm.recall_score(test.label, test.score >= e['threshold']))
    d = res['comparisons']['chosen']['differences']['jsd - base']['micro/roc_auc']
    assert d['lo'] <= d['value'] <= d['hi'] and d['value'] > 0


def test_bootstrap_resamples_videos():
    df = synth_scores(6, 20, seed=2)
    bs = bootstrap_runs({'a': df}, {'a': 0.5}, n_boot=40, seed=0)
    m = bs['runs']['a']['metrics']['micro/f1']
    assert m['lo'] <= m['value'] <= m['hi'] and m['lo'] < m['hi']
    # a single video: every resample is that video, so the interval collapses onto the value
    one = df[df.video == df.video.iloc[0]]
    m1 = bootstrap_runs({'a': one}, {'a': 0.5}, n_boot=10)['runs']['a']['metrics']['micro/accuracy']
    assert m1['lo'] == m1['hi'] == m1['value']


def test_detection_delay():
    toy = pd.DataFrame(dict(video='t', frame=range(8), label=[0, 0, 1, 1, 1, 0, 0, 0], anomaly_class='',
                            score=[.9, .9, 0, 0, .8, 0, .9, 0]))
    d = detection_delay(toy, 0.5, fps=1.0)
    assert d['per_video'][0]['delay_frames'] == 2 and d['false_alarm_events'] == 2
    assert d['false_alarms_per_min'] == pytest.approx(2 / (5 / 60))


def test_cli_writes_results_table_and_figures(tmp_path):
    a = make_fake_run(tmp_path/'baseline', 'baseline', 6, 30, score_seed=1)
    b = make_fake_run(tmp_path/'jsd', 'jsd', 6, 30, score_seed=2)
    out = tmp_path/'res'/'results.json'
    with contextlib.redirect_stdout(io.StringIO()) as log:
        rc = main(['evaluate', '--runs', str(a), str(b), '--out', str(out), '--figures', str(tmp_path/'figs'), '--n-boot', '20', '--sigma', '1'])
    assert rc == 0
    res = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f'non-JSON constant {c} in results'))
    assert res['sigma'] == 1.0 and set(res['runs']) == {'baseline', 'jsd'}
    md = out.with_suffix('.md').read_text()
    assert '| Run | Method | Threshold | Accuracy | Recall | F1 | AUC |' in md and 'fixed 0.5' in md
    assert sorted(p.name for p in (tmp_path/'figs').iterdir()) == ['roc_pr_test.png', 'timelines_test.png']
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(['evaluate', '--runs', str(tmp_path/'nope'), '--out', str(out)]) == 2
    assert 'no such run folder' in err.getvalue()


def test_explorer_headless():
    df = synth_scores(6, 30, seed=4)
    ex = threshold_explorer({'demo': df}, plot=False)
    shown = lambda k: re.search(rf'class="jsd-{k}">([^<]+)<', ex.summary.value).group(1)
    seen = set()
    for t in (0.2, 0.45, 0.7):
        ex.slider.value = t
        p = (df.score >= t).astype(int)
        assert float(shown('recall')) == pytest.approx(skm.recall_score(df.label, p), abs=1e-4)
        assert float(shown('f1')) == pytest.approx(skm.f1_score(df.label, p), abs=1e-4)
        assert [int(shown(k)) for k in ('tn', 'fp', 'fn', 'tp')] == skm.confusion_matrix(df.label, p).ravel().tolist()
        seen.add(shown('f1'))
    assert len(seen) == 3
