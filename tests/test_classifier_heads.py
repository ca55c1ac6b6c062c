"""Each network's declared classifier (FeatureMaps.classifier) takes its final map to the same class scores as
the network's own forward: the classes it recognises can come from the pass that gives the features."""

from __future__ import annotations

import pytest

from builder.features.networks import registry

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")

# randomly initialised: the declarations are checked, not the weights (squeezenet and densenet121 stand
# for their families' larger members where those cost more time)
TORCHVISION = ["vgg16", "resnet152", "densenet121", "squeezenet1_1"]


def _scores_both_ways(name: str, network) -> tuple:
    maps = registry.get(name).maps
    assert maps is not None and maps.classifier is not None
    x = torch.randn(2, *registry.get(name).preprocess.input_shape, generator=torch.Generator().manual_seed(30))
    with torch.no_grad():
        return maps.classifier(network).eval()(maps.trunk(network).eval()(x)), network(x)


@pytest.mark.parametrize("name", TORCHVISION)
def test_a_torchvision_networks_classifier_from_its_final_map_is_its_forward(name: str) -> None:
    torch.manual_seed(0)
    network = getattr(tvm, name)(weights=None).eval()
    declared, forward = _scores_both_ways(name, network)
    assert declared.shape == forward.shape == (2, 1000)
    assert torch.allclose(declared, forward, atol=1e-5, rtol=1e-5)


def test_efficientnet_lites_classifier_from_its_final_map_is_its_forward() -> None:
    spec = registry.get("efficientnet_lite0")
    if not spec.weights.available()[0]:
        pytest.skip("efficientnet_lite0's weights are not installed")
    assert spec.load is not None
    declared, forward = _scores_both_ways("efficientnet_lite0", spec.load(None))
    assert declared.shape == (2, 1000)
    assert torch.allclose(declared, forward, atol=1e-5, rtol=1e-5)
