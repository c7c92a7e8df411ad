package activities

import (
	"context"
	"path/filepath"

	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/training"
)

// ProductOutcome is one product's model, its gate decision and the
// baseline that serves otherwise (training.ProductOutcome).
type ProductOutcome = training.ProductOutcome

// GateDecision is what the gate decides for a product (training.GateDecision).
type GateDecision = training.GateDecision

// ProductsResult is the products' models and the gate's decisions, without
// rows (training.ProductsResult).
type ProductsResult = training.ProductsResult

// ProductsInput trains the vol, quantile and p_up products of a dataset
// beside its return model, into the run's report folder.
type ProductsInput struct {
	DataDir     string         `json:"data_dir,omitempty"`
	Pair        string         `json:"pair"`
	Horizon     int            `json:"horizon"`
	Dataset     string         `json:"dataset"`      // DatasetInfo.Path
	ReportDir   string         `json:"report_dir"`   // FitOutput.ReportDir
	ReturnModel string         `json:"return_model"` // FitOutput.ModelPath, for the return fee curve
	Params      ml.TrialParams `json:"params"`       // the return model's tuned parameters
	Rounds      int            `json:"rounds"`
	Threads     int            `json:"threads"`
	Seed        int64          `json:"seed"`
}

// TrainProducts reads the dataset and the pair's candles and trains, scores
// and saves the products (training.TrainProducts), heartbeating the stage.
func (a *Activities) TrainProducts(ctx context.Context, in ProductsInput) (ProductsResult, error) {
	report, err := a.dataPath("report_dir", in.ReportDir)
	if err != nil {
		return ProductsResult{}, err
	}
	model, err := a.dataPath("model", in.ReturnModel)
	if err != nil {
		return ProductsResult{}, err
	}
	hb := startHeartbeat(ctx, "reading candles")
	defer hb.close()
	d, err := a.productData(in.DataDir, in.Dataset)
	if err != nil {
		return ProductsResult{}, err
	}
	res, err := training.TrainProducts(ctx, d.Dataset, d.Splits, d.Candles, training.ProductsRequest{ReportDir: report, ReturnModel: model,
		Params: in.Params, Rounds: in.Rounds, Threads: in.Threads, Seed: in.Seed,
		Progress: func(stage string) { hb.set(ctx, stage) }})
	if err != nil {
		return ProductsResult{}, TemporalError(err)
	}
	res.ReportDir = in.ReportDir // as the request names it
	for i := range res.Products {
		res.Products[i].ModelPath = filepath.Join(in.ReportDir, filepath.Base(res.Products[i].ModelPath))
	}
	return res, nil
}

// ProductPromotion is what happened to one product's series
// (training.ProductPromotion).
type ProductPromotion = training.ProductPromotion

// RegisterProductsInput records a products run in the registry.
type RegisterProductsInput struct {
	DataDir   string           `json:"data_dir,omitempty"`
	Pair      string           `json:"pair"`
	Horizon   int              `json:"horizon"`
	ReportDir string           `json:"report_dir"`
	Dataset   DatasetInfo      `json:"dataset"`
	Products  []ProductOutcome `json:"products"`
}

// RegisterProducts registers each product's model and fitted baseline and
// sets the product's aliases by the gate's decision (training.RegisterProducts),
// the current champions re-scored on the dataset's products test rows.
func (a *Activities) RegisterProducts(ctx context.Context, in RegisterProductsInput) ([]ProductPromotion, error) {
	reg, _, err := a.openRegistry(in.DataDir)
	if err != nil {
		return nil, err
	}
	products := make([]ProductOutcome, len(in.Products))
	for i, p := range in.Products {
		if p.ModelPath, err = a.dataPath("model", p.ModelPath); err != nil {
			return nil, err
		}
		products[i] = p
	}
	var data *training.ProductData // nil without a dataset: the champions' recorded losses stand in
	if in.Dataset.Path != "" {
		if data, err = a.productData(in.DataDir, in.Dataset.Path); err != nil {
			return nil, err
		}
	}
	out, err := training.RegisterProducts(ctx, reg, training.RegisterProductsRequest{Pair: in.Pair, Horizon: in.Horizon,
		ReportDir: in.ReportDir, Dataset: in.Dataset, Products: products, Data: data})
	return out, TemporalError(err)
}

// productData reads the dataset at path (from the worker's cache) and the
// pair's candles: what TrainProducts trains on and what RegisterProducts
// re-scores each product's champion on.
func (a *Activities) productData(dataDir, path string) (*training.ProductData, error) {
	dir, err := a.dataDir(dataDir)
	if err != nil {
		return nil, err
	}
	ds, sp, err := a.readDataset(path)
	if err != nil {
		return nil, err
	}
	candles, err := training.ReadCandles(dir, ds)
	if err != nil {
		return nil, TemporalError(err)
	}
	return &training.ProductData{Dataset: ds, Splits: sp, Candles: candles}, nil
}
