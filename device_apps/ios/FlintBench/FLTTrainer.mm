#import "FLTTrainer.h"

#include <executorch/extension/data_loader/file_data_loader.h>
#include <executorch/extension/tensor/tensor.h>
#include <executorch/extension/training/module/training_module.h>
#include <executorch/extension/training/optimizer/sgd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using executorch::extension::FileDataLoader;
using executorch::extension::TensorPtr;
using executorch::extension::make_tensor_ptr;
using executorch::extension::training::TrainingModule;
using executorch::extension::training::optimizer::SGD;
using executorch::extension::training::optimizer::SGDOptions;
using executorch::runtime::EValue;
using executorch::runtime::Error;

static NSError *FLTError(NSString *what, Error code) {
  return [NSError errorWithDomain:@"org.flint.bench.executorch"
                             code:(NSInteger)code
                         userInfo:@{NSLocalizedDescriptionKey : [NSString stringWithFormat:@"%@ (ExecuTorch error %d)", what, (int)code]}];
}

@implementation FLTTensor
- (instancetype)initWithData:(NSData *)data shape:(NSArray<NSNumber *> *)shape isInt64:(BOOL)isInt64 {
  if ((self = [super init])) {
    _data = [data copy];
    _shape = [shape copy];
    _isInt64 = isInt64;
  }
  return self;
}
@end

@implementation FLTTrainer {
  std::unique_ptr<TrainingModule> _module;
  std::unique_ptr<SGD> _optimizer;  // created after the first step: parameters exist from then on
  std::string _method;
  double _learningRate;
}

- (nullable instancetype)initWithProgramPath:(NSString *)path
                                      method:(NSString *)method
                                learningRate:(double)learningRate
                                       error:(NSError **)error {
  if (!(self = [super init])) {
    return nil;
  }
  auto loader = FileDataLoader::from(path.UTF8String);
  if (!loader.ok()) {
    if (error) *error = FLTError([NSString stringWithFormat:@"cannot open %@", path], loader.error());
    return nil;
  }
  _module = std::make_unique<TrainingModule>(std::make_unique<FileDataLoader>(std::move(loader.get())));
  _method = method.UTF8String;
  _learningRate = learningRate;
  return self;
}

- (BOOL)stepWithInputs:(NSArray<FLTTensor *> *)inputs loss:(float *)loss error:(NSError **)error {
  // the tensors borrow the NSData bytes; `inputs` outlives this call
  std::vector<TensorPtr> tensors;
  std::vector<EValue> values;
  for (FLTTensor *t in inputs) {
    std::vector<executorch::aten::SizesType> shape;
    for (NSNumber *d in t.shape) shape.push_back(d.intValue);
    void *bytes = const_cast<void *>(t.data.bytes);
    tensors.push_back(t.isInt64 ? make_tensor_ptr(shape, bytes, executorch::aten::ScalarType::Long)
                                : make_tensor_ptr(shape, bytes, executorch::aten::ScalarType::Float));
  }
  for (auto &t : tensors) values.emplace_back(*t);

  auto out = _module->execute_forward_backward(_method, values);
  if (!out.ok()) {
    if (error) *error = FLTError(@"forward_backward failed", out.error());
    return NO;
  }
  if (loss) *loss = out.get()[0].toTensor().const_data_ptr<float>()[0];

  if (!_optimizer) {
    auto params = _module->named_parameters(_method);
    if (!params.ok()) {
      if (error) *error = FLTError(@"the program has no trainable parameters", params.error());
      return NO;
    }
    _optimizer = std::make_unique<SGD>(params.get(), SGDOptions{_learningRate});
  }
  auto grads = _module->named_gradients(_method);
  if (!grads.ok()) {
    if (error) *error = FLTError(@"no gradients after forward_backward", grads.error());
    return NO;
  }
  Error stepped = _optimizer->step(grads.get());
  if (stepped != Error::Ok) {
    if (error) *error = FLTError(@"SGD step failed", stepped);
    return NO;
  }
  return YES;
}
@end
