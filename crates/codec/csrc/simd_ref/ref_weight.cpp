// Test-only (built with the `kernel-tests` feature): OpenH264's own weighted and plain bi-prediction,
// file-local in the unpatched upstream rec_mb.cpp. The whole file is compiled into this unit with its
// namespace renamed (so none of its functions or types clash with the decoder's), and the three
// functions are called on a minimal layer holding only the prediction weight table.
#define WelsDec nalcast_ref_WelsDec
#include "rec_mb.cpp"

namespace {
namespace R = nalcast_ref_WelsDec;

struct Layer {
  R::SDqLayer layer;
  R::SPredWeightTabSyn table;
};

// wo: luma weight, luma offset, Cb weight, Cb offset, Cr weight, Cr offset of reference 0 in one list.
void set_list (R::SPredWeightTabSyn& t, int list, const int32_t wo[6]) {
  t.sPredList[list].iLumaWeight[0] = wo[0];
  t.sPredList[list].iLumaOffset[0] = wo[1];
  for (int k = 0; k < 2; k++) {
    t.sPredList[list].iChromaWeight[0][k] = wo[2 + 2 * k];
    t.sPredList[list].iChromaOffset[0][k] = wo[3 + 2 * k];
  }
}

R::sMCRefMember block (uint8_t* const p[3], int32_t stride_y, int32_t stride_c) {
  R::sMCRefMember m;
  memset (&m, 0, sizeof m);
  m.pDstY = p[0];
  m.pDstU = p[1];
  m.pDstV = p[2];
  m.iDstLineLuma = stride_y;
  m.iDstLineChroma = stride_c;
  return m;
}

Layer* layer (uint32_t luma_log2, uint32_t chroma_log2) {
  static Layer l; // large; zeroed once, only the table is read
  memset (&l.table, 0, sizeof l.table);
  l.table.uiLumaLog2WeightDenom = luma_log2;
  l.table.uiChromaLog2WeightDenom = chroma_log2;
  l.layer.pPredWeightTable = &l.table;
  return &l;
}
} // namespace

// WeightPrediction on a w x h luma block and its two w/2 x h/2 chroma blocks (p: Y, Cb, Cr).
extern "C" void nalcast_ref_weight_block (uint8_t* const p[3], int32_t stride_y, int32_t stride_c, int32_t w,
    int32_t h, uint32_t luma_log2, uint32_t chroma_log2, const int32_t wo[6]) {
  Layer* l = layer (luma_log2, chroma_log2);
  set_list (l->table, 0, wo);
  R::sMCRefMember m = block (p, stride_y, stride_c);
  R::WeightPrediction (&l->layer, &m, 0, 0, w, h);
}

// mode 1: explicit BiWeightPrediction (wo1, wo2: the two lists); mode 2: implicit (wo1[0] is the
// implicit weight of list 0); mode 0: BiPrediction (plain average). p is updated with q.
extern "C" void nalcast_ref_biweight_block (uint8_t* const p[3], uint8_t* const q[3], int32_t stride_y,
    int32_t stride_c, int32_t w, int32_t h, uint32_t luma_log2, uint32_t chroma_log2, int32_t mode,
    const int32_t wo1[6], const int32_t wo2[6]) {
  Layer* l = layer (luma_log2, chroma_log2);
  set_list (l->table, 0, wo1);
  set_list (l->table, 1, wo2);
  l->table.iImplicitWeight[0][0] = wo1[0];
  R::sMCRefMember m1 = block (p, stride_y, stride_c), m2 = block (q, stride_y, stride_c);
  if (mode == 0)
    R::BiPrediction (&l->layer, &m1, &m2, w, h);
  else
    R::BiWeightPrediction (&l->layer, &m1, &m2, 0, 0, mode == 1, w, h);
}
