#include "core/model/scoring.h"

#include <algorithm>

namespace rr {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Rows of logits materialised at once: bounds the [rows, N] buffer (1024 x 12k items = 50 MB)
// whatever the batch holds, and keeps it hot in cache for the gradient products.
constexpr int64_t kChunkRows = 1024;

/// Cross-entropy as a terminal op: the gradients are computed chunk by chunk in the forward
/// pass (the loss is a mean, so backward only scales them by the incoming scalar).
struct FullSoftmaxXent : public torch::autograd::Function<FullSoftmaxXent> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& items,
                               const torch::Tensor& cls, double scale) {
    // items: [N,d] table rows 1..N; cls: [P] class index 0..N-1.
    torch::NoGradGuard ng;
    const int64_t P = h.size(0);
    const bool needH = h.requires_grad(), needItems = items.requires_grad();
    auto hd = h.detach(), itemsd = items.detach();
    torch::Tensor dh = needH ? torch::empty_like(hd) : torch::Tensor();
    torch::Tensor dItems = needItems ? torch::zeros_like(itemsd) : torch::Tensor();
    auto lossSum = torch::zeros({}, h.options());
    const double rowScale = scale / static_cast<double>(P);
    for (int64_t start = 0; start < P; start += kChunkRows) {
      const int64_t rows = std::min(kChunkRows, P - start);
      auto hc = hd.narrow(0, start, rows);
      auto cc = cls.narrow(0, start, rows);
      auto p = torch::mm(hc, itemsd.t());
      if (scale != 1.0) p.mul_(scale);
      auto picked = p.gather(1, cc.unsqueeze(1)).squeeze(1);
      auto mx = std::get<0>(p.max(1, /*keepdim=*/true));
      p.sub_(mx).exp_();
      auto sum = p.sum(1, /*keepdim=*/true);
      lossSum.add_((sum.log().squeeze(1) + mx.squeeze(1) - picked).sum());
      if (!needH && !needItems) continue;
      // dL/dlogits = (softmax - onehot) * scale / P, in place in the chunk buffer.
      p.div_(sum);
      auto r = torch::arange(rows, cc.options());
      p.index_put_({r, cc}, p.index({r, cc}) - 1.0);
      p.mul_(rowScale);
      if (needH) {
        auto dst = dh.narrow(0, start, rows);
        torch::mm_out(dst, p, itemsd);
      }
      if (needItems) dItems.addmm_(p.t(), hc);
    }
    ctx->saved_data["dh"] = dh;
    ctx->saved_data["dItems"] = dItems;
    return lossSum / static_cast<double>(P);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto g = grads[0];
    auto dh = ctx->saved_data["dh"].toTensor();
    auto dItems = ctx->saved_data["dItems"].toTensor();
    return {dh.defined() ? dh * g : torch::Tensor(), dItems.defined() ? dItems * g : torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fullSoftmaxCrossEntropy(const torch::Tensor& h, const torch::Tensor& table,
                                      const torch::Tensor& targets, double scale) {
  TORCH_CHECK(h.dim() == 2 && table.dim() == 2 && h.size(1) == table.size(1),
              "fullSoftmaxCrossEntropy: shape mismatch");
  if (h.size(0) == 0) return (h.sum() + table.sum()) * 0.0;  // keeps the graph connected
  return FullSoftmaxXent::apply(h, table.narrow(0, 1, table.size(0) - 1), targets - 1, scale);
}

}  // namespace rr
