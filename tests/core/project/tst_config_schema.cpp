#include "core/errors.h"
#include "core/project/config_schema.h"
#include "test_main.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>

#include <cmath>
#include <limits>

using namespace rr;

namespace {

constexpr double NA = std::numeric_limits<double>::quiet_NaN();  // no range for this type

/// The specification of every key: type letter (I D B E S IL SL), default as JSON text, page,
/// range, choices ('|'-separated) and appliesTo (','-separated, "r:" = reasoner:, "b:" = backbone:).
struct KeySpec {
  const char* path;
  const char* type;
  const char* def;
  const char* page;
  double min, max;
  const char* choices;
  const char* applies;
};

const char* const kLH = "r:lares,r:hybrid";
const char* const kPH = "r:plr,r:hybrid";
const char* const kAll = "r:erl,r:prl,r:lares,r:plr,r:hybrid";
const char* const kMetrics =
    "recall@5|recall@10|recall@20|recall@50|ndcg@5|ndcg@10|ndcg@20|ndcg@50|mrr@5|mrr@10|mrr@20|mrr@50";

const KeySpec kSpec[] = {
    {"preset", "S", "\"custom\"", "run", NA, NA, "", ""},
    {"device", "S", "\"auto\"", "run", NA, NA, "", ""},
    {"threads", "I", "0", "run", 0, 1024, "", ""},
    {"stages", "SL", "[\"spt\"]", "run", NA, NA, "spt|rpt", ""},

    {"data.max_len", "I", "50", "data", 1, 1024, "", ""},
    {"data.split", "E", "\"leave_one_out\"", "data", NA, NA, "leave_one_out|global_time", ""},
    {"data.valid_cut", "D", "0.8", "data", 0, 1e13, "", ""},
    {"data.test_cut", "D", "0.9", "data", 0, 1e13, "", ""},
    {"data.min_rating", "D", "3.0", "data", -1e9, 1e9, "", ""},
    {"data.kcore", "I", "5", "data", 0, 100000, "", ""},
    {"data.min_seq_len", "I", "3", "data", 1, 100000, "", ""},

    {"model.backbone", "E", "\"sasrec\"", "model", NA, NA, "sasrec|bert4rec|gru4rec|fmlprec", ""},
    {"model.d", "I", "64", "model", 4, 8192, "", ""},
    {"model.layers", "I", "2", "model", 1, 64, "", ""},
    {"model.heads", "I", "2", "model", 1, 64, "", ""},
    {"model.ffn", "I", "0", "model", 0, 65536, "", ""},
    {"model.dropout", "D", "0.5", "model", 0, 0.95, "", ""},
    {"model.attn_dropout", "D", "0.5", "model", 0, 0.95, "", ""},
    {"model.norm", "E", "\"post\"", "model", NA, NA, "post|pre", ""},
    {"model.temperature", "D", "1.0", "model", 1e-4, 1e4, "", ""},
    {"model.init_std", "D", "0.02", "model", 0, 1, "", ""},
    {"model.mask_ratio", "D", "0.2", "model", 0.01, 0.95, "", "b:bert4rec"},

    {"model.reasoner.kind", "E", "\"none\"", "reasoner", NA, NA, "none|erl|prl|lares|plr|hybrid", ""},
    {"model.reasoner.steps", "I", "2", "reasoner", 1, 64, "", kAll},
    {"model.reasoner.eval_steps", "I", "0", "reasoner", 0, 256, "", kAll},
    {"model.reasoner.streams", "I", "2", "reasoner", 1, 32, "", kPH},
    {"model.reasoner.trigger_std", "D", "0.02", "reasoner", 0, 100, "", kPH},
    {"model.reasoner.pre_layers", "I", "2", "reasoner", 0, 16, "", kLH},
    {"model.reasoner.core_layers", "I", "2", "reasoner", 1, 16, "", kLH},
    {"model.reasoner.combine", "E", "\"add\"", "reasoner", NA, NA, "add|concat|gated", kLH},
    {"model.reasoner.t0_eval", "E", "\"zero\"", "reasoner", NA, NA, "zero|random", kLH},
    {"model.reasoner.t0_std", "D", "1.0", "reasoner", 0, 100, "", kLH},
    {"model.reasoner.t0_scale", "D", "3.0", "reasoner", 0, 100, "", kLH},
    {"model.reasoner.sampler", "E", "\"lognormal_poisson\"", "reasoner", NA, NA, "lognormal_poisson|constant|uniform", kLH},
    {"model.reasoner.sampler_sigma", "D", "0.5", "reasoner", 0, 5, "", kLH},
    {"model.reasoner.max_steps_factor", "D", "3.0", "reasoner", 1, 20, "", kLH},
    {"model.reasoner.recompute_steps", "B", "true", "reasoner", NA, NA, "", kLH},
    {"model.reasoner.aggregate", "E", "\"gate\"", "reasoner", NA, NA, "gate|mean", kPH},
    {"model.reasoner.inference", "E", "\"dual\"", "reasoner", NA, NA, "dual|reasoning", "r:plr"},
    {"model.reasoner.pool_h0", "B", "false", "reasoner", NA, NA, "", "r:plr"},
    {"model.reasoner.rep_dropout", "D", "0.3", "reasoner", 0, 0.95, "", kPH},
    {"model.reasoner.attn_score_dropout", "D", "0.3", "reasoner", 0, 0.95, "", kPH},
    {"model.reasoner.input_dropout", "D", "0.2", "reasoner", 0, 0.95, "", "r:erl,r:prl"},
    {"model.reasoner.prl_alpha", "D", "5.0", "reasoner", 1, 100, "", "r:prl"},
    {"model.reasoner.prl_noise", "D", "0.01", "reasoner", 0, 10, "", "r:prl"},
    {"model.reasoner.prl_warmup", "I", "2", "reasoner", 0, 1000, "", "r:prl"},

    {"train.epochs", "I", "200", "spt", 1, 100000, "", ""},
    {"train.batch_size", "I", "256", "spt", 1, 1048576, "", ""},
    {"train.lr", "D", "0.001", "spt", 1e-7, 10, "", ""},
    {"train.weight_decay", "D", "0.0", "spt", 0, 10, "", ""},
    {"train.optimizer", "E", "\"adam\"", "spt", NA, NA, "adam|adamw", ""},
    {"train.grad_clip", "D", "0.0", "spt", 0, 1e6, "", ""},
    {"train.seed", "I", "42", "spt", 0, 2147483647, "", ""},
    {"train.patience", "I", "10", "spt", 0, 100000, "", ""},
    {"train.metric", "E", "\"ndcg@10\"", "spt", NA, NA, kMetrics, ""},
    {"train.targets", "E", "\"all_positions\"", "spt", NA, NA, "all_positions|last", ""},
    {"train.length_bucketing", "B", "true", "spt", NA, NA, "", ""},
    {"train.log_every", "I", "10", "spt", 1, 100000, "", ""},
    {"train.tla_weight", "D", "0.1", "spt", 0, 100, "", kLH},
    {"train.sla_weight", "D", "0.5", "spt", 0, 100, "", kLH},
    {"train.tla_similarity", "E", "\"dot\"", "spt", NA, NA, "dot|cosine", kLH},
    {"train.tla_temperature", "D", "1.0", "spt", 1e-4, 1e4, "", kLH},
    {"train.sla_temperature", "D", "1.0", "spt", 1e-4, 1e4, "", kLH},
    {"train.rcl_weight", "D", "1.0", "spt", 0, 100, "", "r:prl,r:plr,r:hybrid"},
    {"train.rcl_temperature", "D", "1.0", "spt", 1e-4, 1e4, "", "r:prl,r:plr,r:hybrid"},
    {"train.div_weight", "D", "0.1", "spt", 0, 100, "", "r:erl,r:plr,r:hybrid"},
    {"train.div_sign", "E", "\"reward\"", "spt", NA, NA, "reward|penalty", "r:erl,r:plr,r:hybrid"},

    {"rpt.epochs", "I", "10", "rpt", 1, 100000, "", kLH},
    {"rpt.batch_size", "I", "400", "rpt", 1, 1048576, "", kLH},
    {"rpt.lr", "D", "0.0005", "rpt", 1e-7, 10, "", kLH},
    {"rpt.optimizer", "E", "\"adamw\"", "rpt", NA, NA, "adam|adamw", kLH},
    {"rpt.weight_decay", "D", "0.0", "rpt", 0, 10, "", kLH},
    {"rpt.grad_clip", "D", "0.0", "rpt", 0, 1e6, "", kLH},
    {"rpt.rollouts", "I", "4", "rpt", 2, 256, "", kLH},
    {"rpt.reward", "E", "\"ndcg@10\"", "rpt", NA, NA, "ndcg@5|ndcg@10|ndcg@20|recall@5|recall@10", kLH},
    {"rpt.beta", "D", "1.0", "rpt", 0, 100, "", kLH},
    {"rpt.clip_eps", "D", "0.2", "rpt", 0, 1, "", kLH},
    {"rpt.updates_per_batch", "I", "1", "rpt", 1, 64, "", kLH},
    {"rpt.dropout", "D", "0.1", "rpt", 0, 0.95, "", kLH},
    {"rpt.select_top_k", "I", "100", "rpt", 0, 1000000, "", kLH},
    {"rpt.select_passes", "I", "3", "rpt", 1, 100, "", kLH},
    {"rpt.policy", "E", "\"target\"", "rpt", NA, NA, "target|hybrid|top_ranked", kLH},
    {"rpt.kl_level", "E", "\"step\"", "rpt", NA, NA, "step|rollout", kLH},
    {"rpt.advantages", "E", "\"positive\"", "rpt", NA, NA, "positive|group", kLH},
    {"rpt.patience", "I", "10", "rpt", 0, 100000, "", kLH},
    {"rpt.from_run", "I", "0", "rpt", 0, 2147483647, "", kLH},

    {"eval.ks", "IL", "[5,10,20,50]", "eval", 1, 1000, "", ""},
    {"eval.history_mask", "E", "\"none\"", "eval", NA, NA, "none|exclude_seen", ""},
    {"eval.batch_size", "I", "1024", "eval", 1, 1048576, "", ""},
};

ConfigKey::Type typeOf(const QString& letter) {
  static const QMap<QString, ConfigKey::Type> types = {
      {"I", ConfigKey::Type::Int},       {"D", ConfigKey::Type::Double},      {"B", ConfigKey::Type::Bool},
      {"E", ConfigKey::Type::Enum},      {"S", ConfigKey::Type::String},      {"IL", ConfigKey::Type::IntList},
      {"SL", ConfigKey::Type::StringList}};
  return types.value(letter);
}

QJsonValue parseJsonValue(const QString& text) {
  return QJsonDocument::fromJson(QStringLiteral("[%1]").arg(text).toUtf8()).array().at(0);
}

QString jsonText(const QJsonValue& v) {
  return QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact)).mid(1).chopped(1);
}

const ConfigSchema& schema() { return ConfigSchema::instance(); }

}  // namespace

class TestConfigSchema : public QObject {
  Q_OBJECT

 private slots:
  void keysMatchSpecification_data() {
    QTest::addColumn<int>("index");
    for (int i = 0; i < int(std::size(kSpec)); ++i) QTest::newRow(kSpec[i].path) << i;
  }
  void keysMatchSpecification() {
    QFETCH(int, index);
    const KeySpec& spec = kSpec[index];
    const ConfigKey* k = schema().find(QLatin1String(spec.path));
    QVERIFY2(k, spec.path);
    QCOMPARE(k->type, typeOf(QLatin1String(spec.type)));
    QCOMPARE(k->defaultValue, parseJsonValue(QLatin1String(spec.def)));
    QCOMPARE(k->page, QLatin1String(spec.page));
    if (!std::isnan(spec.min)) {
      QCOMPARE(k->min, spec.min);
      QCOMPARE(k->max, spec.max);
    }
    const QString choices = QLatin1String(spec.choices);
    QCOMPARE(k->choices, choices.isEmpty() ? QStringList() : choices.split(QLatin1Char('|')));
    QStringList applies;
    for (QString a : QString::fromLatin1(spec.applies).split(QLatin1Char(','), Qt::SkipEmptyParts))
      applies << a.replace(QStringLiteral("r:"), QStringLiteral("reasoner:")).replace(QStringLiteral("b:"), QStringLiteral("backbone:"));
    QCOMPARE(k->appliesTo, applies);
    QVERIFY2(schema().check(*k, k->defaultValue).isEmpty(), qPrintable(schema().check(*k, k->defaultValue)));
  }

  void noOtherKeys() {
    QSet<QString> specified;
    for (const KeySpec& s : kSpec) specified.insert(QLatin1String(s.path));
    QSet<QString> seen;
    for (const ConfigKey& k : schema().keys()) {
      QVERIFY2(specified.contains(k.path), qPrintable(k.path));
      QVERIFY2(!seen.contains(k.path), qPrintable(QStringLiteral("duplicate ") + k.path));
      seen.insert(k.path);
    }
    QCOMPARE(seen.size(), specified.size());
  }

  void everyKeyIsDocumented() {
    const QSet<QString> pages = {"run", "data", "model", "reasoner", "spt", "rpt", "eval"};
    for (const ConfigKey& k : schema().keys()) {
      QVERIFY2(!k.label.isEmpty() && k.label.size() <= 40, qPrintable(k.path));
      QVERIFY2(k.help.size() >= 30 && k.help.endsWith(QLatin1Char('.')), qPrintable(k.path + ": " + k.help));
      QVERIFY2(pages.contains(k.page), qPrintable(k.path));
      for (const QString& a : k.appliesTo) {
        const QString kind = a.section(QLatin1Char(':'), 0, 0);
        const QString name = a.section(QLatin1Char(':'), 1);
        const QString enumKey = kind == QLatin1String("reasoner") ? QStringLiteral("model.reasoner.kind")
                                                                  : QStringLiteral("model.backbone");
        QVERIFY2(kind == QLatin1String("reasoner") || kind == QLatin1String("backbone"), qPrintable(a));
        QVERIFY2(schema().find(enumKey)->choices.contains(name), qPrintable(a));
      }
    }
  }

  void divSignHelpSaysWhatEachSignDoes() {
    const QString help = schema().find(QStringLiteral("train.div_sign"))->help;
    for (const char* word : {"reward", "penalty", "apart", "together", "Eq. 11"})
      QVERIFY2(help.contains(QLatin1String(word)), word);
  }

  void defaultsAreNested() {
    const QJsonObject d = schema().defaults();
    QCOMPARE(d.value("model").toObject().value("reasoner").toObject().value("kind").toString(), QStringLiteral("none"));
    QCOMPARE(d.value("train").toObject().value("epochs").toInt(), 200);
    QCOMPARE(d.value("stages").toArray(), QJsonArray{QStringLiteral("spt")});
    QCOMPARE(flattenJson(d).size(), schema().keys().size());
  }

  void parseText_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");  // JSON text of the value, or "!substring of the error"
    QTest::newRow("int") << "train.epochs" << "5" << "5";
    QTest::newRow("int with spaces") << "train.epochs" << " 12 " << "12";
    QTest::newRow("int in exponent form") << "train.batch_size" << "1e3" << "1000";
    QTest::newRow("int rejects fraction") << "train.epochs" << "2.5" << "!expected an integer";
    QTest::newRow("int rejects words") << "train.epochs" << "many" << "!expected an integer, got 'many'";
    QTest::newRow("double exponent") << "train.lr" << "1e-3" << "0.001";
    QTest::newRow("double plain") << "model.dropout" << "0.25" << "0.25";
    QTest::newRow("double rejects words") << "train.lr" << "fast" << "!expected a number";
    QTest::newRow("double rejects nan") << "train.lr" << "nan" << "!expected a number";
    QTest::newRow("bool true") << "train.length_bucketing" << "true" << "true";
    QTest::newRow("bool false") << "train.length_bucketing" << "false" << "false";
    QTest::newRow("bool 1") << "train.length_bucketing" << "1" << "true";
    QTest::newRow("bool 0") << "train.length_bucketing" << "0" << "false";
    QTest::newRow("bool yes") << "train.length_bucketing" << "yes" << "true";
    QTest::newRow("bool no") << "train.length_bucketing" << "no" << "false";
    QTest::newRow("bool rejects maybe") << "train.length_bucketing" << "maybe" << "!true or false";
    QTest::newRow("enum") << "model.reasoner.kind" << "lares" << "\"lares\"";
    QTest::newRow("enum is case-sensitive") << "model.reasoner.kind" << "LARES"
                                           << "!expected one of: none, erl, prl, lares, plr, hybrid; got 'LARES'";
    QTest::newRow("string") << "device" << "cuda:1" << "\"cuda:1\"";
    QTest::newRow("int list brackets") << "eval.ks" << "[5,10,20]" << "[5,10,20]";
    QTest::newRow("int list bare") << "eval.ks" << "5,10,20" << "[5,10,20]";
    QTest::newRow("int list spaces") << "eval.ks" << "[ 5, 10 ]" << "[5,10]";
    QTest::newRow("int list single") << "eval.ks" << "10" << "[10]";
    QTest::newRow("int list empty") << "eval.ks" << "[]" << "[]";
    QTest::newRow("int list bad element") << "eval.ks" << "5,x" << "!list of integers";
    QTest::newRow("string list") << "stages" << "spt,rpt" << "[\"spt\",\"rpt\"]";
    QTest::newRow("string list json") << "stages" << "[\"spt\", \"rpt\"]" << "[\"spt\",\"rpt\"]";
    QTest::newRow("string list empty element") << "stages" << "spt,,rpt" << "!comma-separated";
  }
  void parseText() {
    QFETCH(QString, key);
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const ConfigKey& k = schema().require(key);
    if (expected.startsWith(QLatin1Char('!'))) {
      try {
        schema().parseText(k, text);
        QFAIL("expected a ConfigError");
      } catch (const ConfigError& e) {
        QCOMPARE(e.key(), key);
        QCOMPARE(e.code(), ExitCode::Usage);
        QVERIFY2(e.message().contains(expected.mid(1)), qPrintable(e.message()));
      }
    } else {
      QCOMPARE(jsonText(schema().parseText(k, text)), expected);
    }
  }

  void check_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("error");  // empty = valid
    QTest::newRow("int in range") << "model.heads" << "4" << "";
    QTest::newRow("int below range") << "model.heads" << "0" << "must be between 1 and 64, got 0";
    QTest::newRow("int above range") << "data.max_len" << "2048" << "must be between 1 and 1024";
    QTest::newRow("int as fraction") << "model.d" << "64.5" << "expected an integer";
    QTest::newRow("int as string") << "model.d" << "\"64\"" << "expected an integer";
    QTest::newRow("seed at int32 max") << "train.seed" << "2147483647" << "";
    QTest::newRow("double at bound") << "model.dropout" << "0.95" << "";
    QTest::newRow("double out of range") << "model.dropout" << "0.96" << "must be between 0 and 0.95";
    QTest::newRow("double from integer") << "train.lr" << "1" << "";
    QTest::newRow("double as bool") << "train.lr" << "true" << "expected a number";
    QTest::newRow("bool") << "train.length_bucketing" << "false" << "";
    QTest::newRow("bool as int") << "train.length_bucketing" << "1" << "expected true or false";
    QTest::newRow("enum unknown") << "data.split" << "\"random\"" << "expected one of: leave_one_out, global_time";
    QTest::newRow("device auto") << "device" << "\"auto\"" << "";
    QTest::newRow("device cpu") << "device" << "\"cpu\"" << "";
    QTest::newRow("device cuda") << "device" << "\"cuda\"" << "";
    QTest::newRow("device cuda:3") << "device" << "\"cuda:3\"" << "";
    QTest::newRow("device gpu") << "device" << "\"gpu\"" << "expected auto, cpu, cuda or cuda:N";
    QTest::newRow("device cuda:") << "device" << "\"cuda:\"" << "expected auto, cpu, cuda or cuda:N";
    QTest::newRow("device CUDA") << "device" << "\"CUDA\"" << "expected auto, cpu, cuda or cuda:N";
    QTest::newRow("preset known") << "preset" << "\"lares\"" << "";
    QTest::newRow("preset custom") << "preset" << "\"custom\"" << "";
    QTest::newRow("preset unknown") << "preset" << "\"lars\"" << "unknown preset 'lars'";
    QTest::newRow("ks valid") << "eval.ks" << "[1,1000]" << "";
    QTest::newRow("ks empty") << "eval.ks" << "[]" << "must not be empty";
    QTest::newRow("ks zero") << "eval.ks" << "[0,10]" << "element 0: must be between 1 and 1000";
    QTest::newRow("ks duplicate") << "eval.ks" << "[10,10]" << "10 is listed twice";
    QTest::newRow("ks not a list") << "eval.ks" << "10" << "expected a list";
    QTest::newRow("stages rpt only") << "stages" << "[\"rpt\"]" << "";
    QTest::newRow("stages empty") << "stages" << "[]" << "must not be empty";
    QTest::newRow("stages unknown") << "stages" << "[\"spt\",\"sft\"]" << "element 'sft': expected one of: spt, rpt";
    QTest::newRow("stages duplicate") << "stages" << "[\"spt\",\"spt\"]" << "'spt' is listed twice";
    QTest::newRow("stages of numbers") << "stages" << "[1]" << "expected a list of strings";
  }
  void check() {
    QFETCH(QString, key);
    QFETCH(QString, json);
    QFETCH(QString, error);
    const QString why = schema().check(schema().require(key), parseJsonValue(json));
    if (error.isEmpty())
      QVERIFY2(why.isEmpty(), qPrintable(why));
    else
      QVERIFY2(why.contains(error), qPrintable(why));
  }

  void suggestions_data() {
    QTest::addColumn<QString>("unknown");
    QTest::addColumn<QString>("suggestion");
    QTest::newRow("missing letter") << "model.reasoner.step" << "model.reasoner.steps";
    QTest::newRow("wrong section") << "train.steps" << "model.reasoner.steps";
    QTest::newRow("bare leaf") << "rollouts" << "rpt.rollouts";
    QTest::newRow("typo") << "train.epocs" << "train.epochs";
    QTest::newRow("leaf in two sections picks nearest") << "rpt.epoch" << "rpt.epochs";
    QTest::newRow("swapped letters") << "model.haeds" << "model.heads";
    QTest::newRow("dash instead of underscore") << "data.max-len" << "data.max_len";
    QTest::newRow("nothing close") << "completely.unrelated.thing" << "";
  }
  void suggestions() {
    QFETCH(QString, unknown);
    QFETCH(QString, suggestion);
    QCOMPARE(schema().suggest(unknown), suggestion);
  }

  void requireNamesKeyAndSuggests_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown with hint") << "model.reasoner.step"
                                       << "model.reasoner.step: unknown key; did you mean model.reasoner.steps?";
    QTest::newRow("unknown without hint") << "zzz.qqq.www" << "zzz.qqq.www: unknown key";
    QTest::newRow("section") << "model.reasoner" << "model.reasoner: is a section, not a value";
  }
  void requireNamesKeyAndSuggests() {
    QFETCH(QString, path);
    QFETCH(QString, message);
    try {
      schema().require(path);
      QFAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      QCOMPARE(e.key(), path);
      QVERIFY2(e.message().startsWith(message), qPrintable(e.message()));
    }
  }

  void jsonPathHelpers() {
    QJsonObject root;
    setJsonPathValue(root, QStringLiteral("a.b.c"), 1);
    setJsonPathValue(root, QStringLiteral("a.b.d"), QJsonArray{1, 2});
    setJsonPathValue(root, QStringLiteral("e"), QStringLiteral("x"));
    QCOMPARE(jsonPathValue(root, QStringLiteral("a.b.c")).toInt(), 1);
    QCOMPARE(jsonPathValue(root, QStringLiteral("a.b.d")).toArray(), (QJsonArray{1, 2}));
    QVERIFY(jsonPathValue(root, QStringLiteral("a.x.c")).isUndefined());
    QVERIFY(jsonPathValue(root, QStringLiteral("e.f")).isUndefined());
    const auto flat = flattenJson(root);
    QCOMPARE(flat.size(), 3);
    QStringList paths;
    for (const auto& [p, v] : flat) paths << p;
    paths.sort();
    QCOMPARE(paths, (QStringList{"a.b.c", "a.b.d", "e"}));
    // An empty object is reported as a value rather than silently dropped.
    QCOMPARE(flattenJson(QJsonObject{{"x", QJsonObject{}}}).size(), 1);
  }

  void typeNames() {
    QCOMPARE(ConfigSchema::typeName(ConfigKey::Type::Int), QStringLiteral("integer"));
    QCOMPARE(ConfigSchema::typeName(ConfigKey::Type::IntList), QStringLiteral("list of integers"));
  }
};

RR_TEST_MAIN(TestConfigSchema)
#include "tst_config_schema.moc"
