#pragma once
/// \file
/// \brief Sequence encoders (backbones, SPEC §2) behind one interface, and their registry.
/// Internal to core (LibTorch).

#include "core/model/layers.h"
#include "core/project/run_config.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

namespace rr {

/// \brief Options for one encoder pass.
struct EncodeOptions {
  bool lastOnly = false;   ///< compute only the last position in the final layer ([B,1,d])
  AttentionHooks hooks;    ///< attention capture / score dropout
};

/// \brief Hyper-parameters every backbone shares, read once from a RunConfig.
struct BackboneSpec {
  std::string name = "sasrec";
  int numItems = 0;   ///< N; the table has N+1 rows (row 0 = padding) plus extras (e.g. [MASK])
  int maxLen = 50;
  int layers = 2;
  LayerOptions layer;
  double maskRatio = 0.2;  ///< BERT4Rec Cloze ratio
  static BackboneSpec fromConfig(const RunConfig& cfg, int numItems);
};

/// \brief A backbone: items [B,W] (left-padded, positions offset..maxLen-1) -> H [B,W,d].
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(BackboneSpec spec) : spec_(std::move(spec)) {}
  const BackboneSpec& spec() const { return spec_; }
  int d() const { return spec_.layer.d; }

  /// Hidden states of all positions ([B,W,d]) or only the last ([B,1,d] when lastOnly).
  virtual torch::Tensor encode(const torch::Tensor& items, int positionOffset,
                               const EncodeOptions& options = {}) = 0;
  /// Input embeddings (items + positions, normalised, dropout) before the layers: [B,W,d].
  virtual torch::Tensor embed(const torch::Tensor& items, int positionOffset) = 0;
  /// Rows 0..N of the item embedding table used for scoring: [N+1, d].
  virtual torch::Tensor itemTable() = 0;
  /// Whether position i only sees positions <= i.
  virtual bool causal() const = 0;
  /// Analytic forward FLOPs of encoding one sequence of L tokens.
  virtual double flopsPerSequence(double L) const = 0;
  /// A fresh stack of `count` layers of this backbone's kind (LARES pre/core blocks).
  /// Each layer maps (x [B,W,d], bias) -> [B,W,d]; backbones without such layers throw.
  virtual torch::nn::ModuleList makeLayers(int count) const;
  /// Applies one layer made by makeLayers().
  virtual torch::Tensor applyLayer(torch::nn::Module& layer, const torch::Tensor& x,
                                   const torch::Tensor& bias, const AttentionHooks& hooks);

 protected:
  BackboneSpec spec_;
};
using Encoder = std::shared_ptr<EncoderImpl>;

/// \brief The input stem SASRec, BERT4Rec and FMLP-Rec share: LN(item + position embedding),
/// then dropout. Its modules are registered on the owning encoder as item_emb, pos_emb, emb_ln
/// and emb_drop (the names checkpoints hold).
struct EmbeddingStem {
  torch::nn::Embedding itemEmb{nullptr}, posEmb{nullptr};
  torch::nn::LayerNorm embLn{nullptr};
  torch::nn::Dropout embDrop{nullptr};
  /// tableRows: N+1, or more with extra rows such as BERT4Rec's [MASK].
  void registerOn(torch::nn::Module& owner, const BackboneSpec& spec, int64_t tableRows);
  /// Zeroes the padding row; call after the owner's weight initialisation.
  void zeroPadding();
  /// [B,W] item ids at positions positionOffset.. -> [B,W,d].
  torch::Tensor operator()(const torch::Tensor& items, int positionOffset);
};

/// \brief SASRec (RecBole form): LN(item + position embedding), dropout, L causal post-LN
/// Transformer layers (pre-LN configurable).
class SasrecEncoderImpl : public EncoderImpl {
 public:
  /// extraRows: table rows after N (e.g. 1 for BERT4Rec's [MASK] = N+1).
  explicit SasrecEncoderImpl(BackboneSpec spec, bool causal = true, int extraRows = 0);
  torch::Tensor encode(const torch::Tensor& items, int positionOffset,
                       const EncodeOptions& options = {}) override;
  torch::Tensor embed(const torch::Tensor& items, int positionOffset) override;
  torch::Tensor itemTable() override;
  bool causal() const override { return causal_; }
  double flopsPerSequence(double L) const override;
  torch::nn::ModuleList makeLayers(int count) const override;
  torch::Tensor applyLayer(torch::nn::Module& layer, const torch::Tensor& x,
                           const torch::Tensor& bias, const AttentionHooks& hooks) override;

  EmbeddingStem stem;
  torch::nn::ModuleList layers{nullptr};

 protected:
  bool causal_;
  int tableRows_;  ///< N+1, or N+2 with a [MASK] row
};

/// Factory of backbones by name ("sasrec", "bert4rec", "gru4rec", "fmlprec").
using EncoderFactory = std::function<Encoder(const BackboneSpec&)>;
void registerEncoder(const std::string& name, EncoderFactory factory);
/// Throws ConfigError("model.backbone", ...) for an unregistered name.
Encoder makeEncoder(const BackboneSpec& spec);

}  // namespace rr
